// The examples' classifier training loop on Fashion-MNIST: mini-batches copied from the CPU arrays into two reused
// tensors each step, cross-entropy, Adam with a cosine schedule (warm-up), the mean loss read back every
// `logEvery` steps only (no stall per step), then the test accuracy. Shared by the MLP (mlp.ts, also in the
// browser page) and the conv net (conv-net.ts).
import { cosineLr, ops, type Engine, type ParameterSet, type Tensor } from 'agave-webgpu';
import type { FashionMnist, Split } from './fashion-mnist.js';

/** A model: its parameters and its logits [n, 10] for images x [n, 784]. */
export interface Classifier {
  params: ParameterSet;
  logits(x: Tensor): Tensor;
}

export interface TrainOptions {
  steps: number;
  batch?: number;
  lr?: number;
  seed?: number;
  /** Called every `logEvery` steps with the mean training loss since the last call. */
  log?: (step: number, loss: number) => void;
  logEvery?: number;
}

export interface TrainResult {
  testAccuracy: number;
  /** Wall time per training step, after the first 10 (pipeline creation) and without the evaluation. */
  msPerStep: number;
  finalLoss: number;
}

/** A small seeded PRNG for the example's shuffling (mulberry32). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Copies examples `order[from..from+n)` of a split into x [n, 784] and y [n]. */
function fillBatch(split: Split, order: Int32Array, from: number, n: number, xs: Float32Array, ys: Int32Array): void {
  for (let i = 0; i < n; i++) {
    const k = order[(from + i) % order.length]!;
    xs.set(split.images.subarray(k * 784, (k + 1) * 784), i * 784);
    ys[i] = split.labels[k]!;
  }
}

/** Trains `model` on data.train and returns its test accuracy and speed. */
export async function trainClassifier(engine: Engine, data: FashionMnist, model: Classifier, o: TrainOptions): Promise<TrainResult> {
  const { params, logits } = model;
  const batch = o.batch ?? 128;
  const lr = cosineLr({ lr: o.lr ?? 2e-3, warmup: Math.min(50, Math.floor(o.steps / 10)), total: o.steps, min: 1e-5 });

  const random = rng(o.seed ?? 1);
  const order = Int32Array.from({ length: data.train.count }, (_, i) => i);
  const shuffle = (): void => {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
  };
  const xs = new Float32Array(batch * 784);
  const ys = new Int32Array(batch);
  const x = engine.zeros([batch, 784]).keep();
  const y = engine.tensor(ys).keep();
  const logEvery = o.logEvery ?? 100;
  let lossSum = engine.zeros([]).keep();
  let lastLoss = NaN;
  let t0 = 0;
  for (let step = 0; step < o.steps; step++) {
    if (step === 10) {
      await engine.sync();
      t0 = performance.now();
    }
    const at = (step * batch) % order.length;
    if (at < batch) shuffle();
    fillBatch(data.train, order, at, batch, xs, ys);
    engine.write(x, xs);
    engine.write(y, ys);
    params.zeroGrad();
    engine.scope(() => {
      const loss = ops.crossEntropy(logits(x), y);
      ops.accumulate(lossSum, loss);
      engine.backward(loss);
    });
    params.adamStep({ lr });
    if ((step + 1) % logEvery === 0 || step + 1 === o.steps) {
      lastLoss = (await lossSum.item()) / (step % logEvery + 1);
      o.log?.(step + 1, lastLoss);
      lossSum.dispose();
      lossSum = engine.zeros([]).keep();
    }
  }
  await engine.sync();
  const msPerStep = o.steps > 10 ? (performance.now() - t0) / (o.steps - 10) : NaN;

  // Test accuracy, 1,000 images at a time: the number of argmax(logits) == label.
  let correct = 0;
  const evalBatch = 1000;
  const ex = new Float32Array(evalBatch * 784);
  const ey = new Int32Array(evalBatch);
  const all = Int32Array.from({ length: data.test.count }, (_, i) => i);
  for (let from = 0; from < data.test.count; from += evalBatch) {
    const n = Math.min(evalBatch, data.test.count - from);
    fillBatch(data.test, all, from, n, ex, ey);
    correct += await engine.noGrad(() =>
      engine.asyncScope(() => ops.sum(ops.equal(ops.argmax(logits(engine.tensor(ex.subarray(0, n * 784), [n, 784]))), engine.tensor(ey.subarray(0, n)))).item()),
    );
  }
  for (const t of [x, y, lossSum]) t.dispose();
  return { testAccuracy: correct / data.test.count, msPerStep, finalLoss: lastLoss };
}
