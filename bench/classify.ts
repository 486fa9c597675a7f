// Benchmarks of the classifier ops (engine/ops/classify.ts, pool.ts, norm.ts), forward and forward + backward, at
// an MLP head's size and a language-model-like one, and of the optimizers beside Adamax over one arena.
// GB/s counts the bytes each forward must at least move.
import { ops, type Engine, type Tensor } from '../engine/index.js';
import { printTable, row, timeIt, type BenchRow } from './harness.js';
import { benchArena } from './optim.js';

/** fwd(x) timed alone, then with its backward for a cotangent of ones. */
async function fwdBwd(engine: Engine, rows: BenchRow[], name: string, inputs: Tensor[], fwd: (xs: Tensor[]) => Tensor, bytes: number): Promise<void> {
  let ms = await timeIt(engine, () => engine.noGrad(() => engine.scope(() => void fwd(inputs))));
  rows.push(row(`${name} fwd`, ms, undefined, bytes));
  for (const t of inputs) if (t.dtype === 'float32') t.requiresGrad = true;
  ms = await timeIt(engine, () =>
    engine.scope(() => {
      const y = fwd(inputs);
      engine.backward(y, engine.ones(y.shape));
      for (const t of inputs) {
        t.grad?.dispose();
        t.grad = null;
      }
    }),
  );
  rows.push(row(`${name} fwd+bwd`, ms));
  for (const t of inputs) if (t.dtype === 'float32') t.requiresGrad = false;
}

export async function benchClassify(engine: Engine): Promise<void> {
  const rows: BenchRow[] = [];
  for (const [B, C] of [[128, 10], [1024, 1000]] as const) {
    const x = engine.uniform([B, C], -3, 3).keep();
    const labels = engine.tensor(Int32Array.from({ length: B }, (_, i) => i % C)).keep();
    await fwdBwd(engine, rows, `softmax [${B},${C}]`, [x], ([t]) => ops.softmax(t!), 8 * B * C);
    await fwdBwd(engine, rows, `crossEntropy [${B},${C}] (none)`, [x, labels], ([t, l]) => ops.crossEntropy(t!, l!, { reduction: 'none' }), 4 * B * C);
    const ms = await timeIt(engine, () => engine.scope(() => void ops.argmax(x)));
    rows.push(row(`argmax [${B},${C}]`, ms, undefined, 4 * B * C));
    x.dispose();
    labels.dispose();
  }
  const ln = [engine.uniform([4096, 256]).keep(), engine.ones([256]).keep(), engine.zeros([256]).keep()];
  await fwdBwd(engine, rows, 'layerNorm [4096,256]', ln, ([t, g, b]) => ops.layerNorm(t!, g!, b!), 8 * 4096 * 256);
  const img = engine.uniform([32, 28, 28, 16]).keep();
  await fwdBwd(engine, rows, 'maxPool2d 2x2 [32,28,28,16]', [img], ([t]) => ops.maxPool2d(t!, { size: 2 }), 4 * img.size * 1.5);
  await fwdBwd(engine, rows, 'maxPool2d 3x3 stride 2 pad 1 [32,28,28,16]', [img], ([t]) => ops.maxPool2d(t!, { size: 3, stride: 2, pad: 1 }), 4 * img.size * 1.25);
  const table = engine.uniform([10000, 64]).keep();
  const idx = engine.tensor(Int32Array.from({ length: 4096 }, (_, i) => (i * 7919) % 10000)).keep();
  await fwdBwd(engine, rows, 'gather [10000,64] rows by 4096 indices', [table, idx], ([t, i]) => ops.gather(t!, i!), 8 * 4096 * 64);
  for (const t of [...ln, img, table, idx]) t.dispose();
  printTable('classifier ops (forward; forward + backward with a cotangent of ones)', rows);
}

/** One step of each optimizer over the same arena (~16M parameters), the update's memory traffic as GB/s. */
export async function benchOptimizers(engine: Engine, totalParams = 16_000_000): Promise<void> {
  const rows: BenchRow[] = [];
  const set = benchArena(engine, totalParams);
  const n = set.arenaSize;
  engine.write(set.gradArena, Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 1e-3));
  const tag = `${(set.count / 1e6).toFixed(1)}M params`;
  const cases: [string, () => void, number][] = [
    ['sgd', () => set.sgdStep({ lr: 0.01 }), 12],
    ['sgd momentum 0.9', () => set.sgdStep({ lr: 0.01, momentum: 0.9 }), 20],
    ['adam', () => set.adamStep(), 28],
    ['adamw, decay per name', () => set.adamwStep({ weightDecay: (name) => (name.endsWith('0') ? 0 : 0.01) }), 28],
    ['adam + clipNorm 1', () => set.adamStep({ clipNorm: 1 }), 32],
    ['adamax', () => set.adamaxStep(), 28],
  ];
  for (const [name, step, bytesPer] of cases) rows.push(row(`${name} (${tag})`, await timeIt(engine, step, { reps: 5 }), undefined, bytesPer * n));
  set.dispose();
  printTable('optimizer steps over one parameter arena (one dispatch per chunk)', rows);
}
