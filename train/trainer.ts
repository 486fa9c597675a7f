// The training and evaluation loop behind `node train.js` (the CLI only parses flags). Everything that makes
// a run resumable lives in the checkpoint: parameters, EMA, Adamax state, step, data order and the run
// settings; noise streams are derived from (seed, step), so a resumed run repeats the uninterrupted one.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Engine, ParameterSet, ops, type Tensor } from '../engine/index.js';
import { Agave, Ctx, toPixels, type Phase } from '../model/agave.js';
import { CONFIGS, type ConfigName } from '../model/config.js';
import type { AuxVariant } from '../engine/ops/aux_image.js';
import { BatchOrder, gatherBatch, loadDataset, type BatchOrderState, type ImageSet } from './data.js';
import { loadCheckpoint, saveCheckpoint } from './checkpoint-io.js';
import { appendJsonl, bitsPerDim, formatDuration } from './metrics.js';
import { encodePng, imageGrid, writePngAtomic } from './png.js';
// issue 9 (no run is ever lost): run folder ownership/lock, data identity, the non-finite stop.
import { openRunFolder, type RunFolder, type RunFolderOptions } from './run-folder.js';
import { checkResumeData, dataFingerprint, type DataFingerprint } from './fingerprint.js';
import { nonFiniteStateMessage, nothingToDoMessage } from './safety.js';

export interface TrainOptions extends RunFolderOptions {
  data?: string;
  config: ConfigName;
  aux: AuxVariant;
  levels?: number;
  lambda: number;
  batch?: number;
  steps: number;
  lr: number;
  seed: number;
  out: string;
  evalEvery: number;
  evalImages: number;
  checkpointEvery: number;
  resume: boolean;
  vaePretrain: number;
  pixelcnnPretrain: number;
  dropAuxAt?: number;
  emaDecay: number;
  dropout?: number;
  /** Stop (with a checkpoint) after this many minutes. */
  timeLimitMinutes?: number;
  logEvery: number;
  /** Use at most this many training images (e.g. the overfitting test). */
  trainImages?: number;
  /** After training, draw this many AGAVE samples (z ~ prior, PixelCNN run autoregressively on f(z)). */
  agaveSamples?: number;
  /** Importance samples for the final evaluation's IWAE bound (MODEL_SPEC §4; the paper used 150). */
  iwSamples?: number;
}

/** The settings a resume must match exactly (others, like steps or the output folder, may change). */
function runSignature(o: TrainOptions, batch: number, channels: number, size: number): Record<string, unknown> {
  return {
    config: o.config,
    model: CONFIGS[o.config],
    aux: o.aux,
    levels: o.levels ?? null,
    lambda: o.lambda,
    batch,
    lr: o.lr,
    seed: o.seed,
    vaePretrain: o.vaePretrain,
    pixelcnnPretrain: o.pixelcnnPretrain,
    dropAuxAt: o.dropAuxAt ?? null,
    emaDecay: o.emaDecay,
    dropout: o.dropout ?? null,
    channels,
    imageSize: size,
    trainImages: o.trainImages ?? null,
  };
}

interface CheckpointMeta {
  version: 1;
  step: number;
  signature: Record<string, unknown>;
  order: BatchOrderState;
  names: string[];
  shapes: number[][];
  hasEma: boolean;
  hasState: boolean;
  /** The data the run trains on (train/fingerprint.ts); absent in checkpoints from before it. */
  data?: DataFingerprint;
}

export interface StepRecord {
  step: number;
  phase: Phase;
  loss: number;
  pixelcnn: number | null;
  aux: number;
  kl: number;
  klObjective: number;
  imagesPerSecond: number;
}

export interface EvalRecord {
  step: number;
  testBitsPerDim: number;
  /** Importance-weighted bound with K samples (final evaluation, when iwSamples > 1). */
  iwBitsPerDim?: number;
  iwSamples?: number;
  pixelcnn: number;
  kl: number;
  aux: number;
  images: number;
}

export interface TrainResult {
  steps: StepRecord[];
  evals: EvalRecord[];
  stoppedEarly: 'nan' | 'time' | 'signal' | null;
  parameterCount: number;
}

export type Logger = (line: string) => void;

/**
 * Resize images to `size`: centred zero padding when smaller, integer-factor average pooling when larger (after
 * padding up to a multiple of `size` when needed: Fashion-MNIST's 28x28 becomes 32x32, or 8x8 for `tiny`).
 */
export function fitImages(set: ImageSet, size: number): ImageSet {
  const { height: h, width: w, channels: c, count } = set;
  if (h === size && w === size) return set;
  if (h > size && w > size && (h % size !== 0 || w % size !== 0) && h === w) {
    return fitImages(fitImages(set, Math.ceil(h / size) * size), size);
  }
  const out = new Uint8Array(count * size * size * c);
  if (h >= size && w >= size && h % size === 0 && w % size === 0) {
    const f = h / size;
    for (let n = 0; n < count; n++)
      for (let y = 0; y < size; y++)
        for (let x = 0; x < size; x++)
          for (let ch = 0; ch < c; ch++) {
            let s = 0;
            for (let dy = 0; dy < f; dy++) for (let dx = 0; dx < f; dx++) s += set.images[((n * h + y * f + dy) * w + x * f + dx) * c + ch]!;
            out[((n * size + y) * size + x) * c + ch] = Math.round(s / (f * f));
          }
  } else if (h <= size && w <= size) {
    const top = Math.floor((size - h) / 2);
    const left = Math.floor((size - w) / 2);
    for (let n = 0; n < count; n++)
      for (let y = 0; y < h; y++) out.set(set.images.subarray(((n * h + y) * w) * c, ((n * h + y) * w + w) * c), ((n * size + y + top) * size + left) * c);
  } else {
    throw new Error(`images of ${h}x${w} cannot be fitted to ${size}x${size} (need an integer pooling factor or padding)`);
  }
  return { ...set, images: out, height: size, width: size, source: `${set.source} (fitted to ${size}x${size})` };
}

function phaseAt(o: TrainOptions, step: number): Phase {
  if (step < o.vaePretrain) return 'vae';
  if (step < o.vaePretrain + o.pixelcnnPretrain) return 'pixelcnn';
  return 'joint';
}

/** Noise streams of a step: far apart so a step's dropout/epsilon draws never collide with another step's. */
const STREAMS_PER_STEP = 1 << 16;

export async function train(o: TrainOptions, log: Logger = console.log): Promise<TrainResult> {
  // --- issue 9: one run per folder, locked for the run's duration (train/run-folder.ts) ---
  const run = openRunFolder(o, log);
  try {
    return await trainInFolder({ ...o, out: run.dir }, log, run);
  } finally {
    run.release();
  }
}

async function trainInFolder(o: TrainOptions, log: Logger, run: RunFolder): Promise<TrainResult> {
  const cfg = { ...CONFIGS[o.config] } as (typeof CONFIGS)[ConfigName];
  const modelCfg = o.dropout === undefined ? cfg : { ...cfg, pixelcnn: { ...cfg.pixelcnn, dropout: o.dropout } };
  const data = loadDataset(o.data);
  const dataId = dataFingerprint(data); // issue 9: stored in checkpoints, checked on resume
  let trainSet = fitImages(data.train, modelCfg.imageSize);
  const testSet = fitImages(data.test, modelCfg.imageSize);
  if (o.trainImages !== undefined) trainSet = { ...trainSet, count: Math.min(o.trainImages, trainSet.count) };
  const batch = o.batch ?? modelCfg.batch;
  if (batch > trainSet.count) throw new Error(`batch ${batch} is larger than the ${trainSet.count} training images`);
  const channels = trainSet.channels;
  const model = new Agave(modelCfg, { variant: o.aux, ...(o.levels !== undefined ? { levels: o.levels } : {}) }, channels);
  const signature = runSignature(o, batch, channels, modelCfg.imageSize);
  const ckptPath = join(o.out, 'checkpoint.agave');
  const metricsPath = join(o.out, 'metrics.jsonl');

  const engine = await Engine.create({ seed: o.seed });
  log(`WebGPU: ${engine.description}`);
  log(`data: ${data.format}, ${trainSet.count} train / ${testSet.count} test images ${modelCfg.imageSize}x${modelCfg.imageSize}x${channels} (${trainSet.source})`);
  const params = ParameterSet.create(engine, model.builder.specs, o.seed);
  log(`model: ${modelCfg.name} (${modelCfg.description}); aux ${o.aux}, K=${model.levels}; ${params.count.toLocaleString('en-US')} parameters`);
  const result: TrainResult = { steps: [], evals: [], stoppedEarly: null, parameterCount: params.count };
  let order: BatchOrder;
  let startStep = 0;
  try {
    if (o.resume) {
      if (!existsSync(ckptPath)) throw new Error(`--resume: no checkpoint at ${ckptPath}`);
      const ck = loadCheckpoint<CheckpointMeta>(ckptPath);
      const diffs = Object.keys(signature).filter((k) => JSON.stringify(signature[k]) !== JSON.stringify(ck.meta.signature[k]));
      if (diffs.length) {
        throw new Error(`--resume: the checkpoint was made with different settings: ${diffs.map((k) => `${k} (checkpoint ${JSON.stringify(ck.meta.signature[k])}, now ${JSON.stringify(signature[k])})`).join('; ')}`);
      }
      checkResumeData(ck.meta.data, dataId, ckptPath, log); // issue 9
      params.load({ names: ck.meta.names, shapes: ck.meta.shapes, params: ck.arrays.params!, ...(ck.arrays.ema ? { ema: ck.arrays.ema } : {}), ...(ck.arrays.v ? { v: ck.arrays.v, u: ck.arrays.u! } : {}) });
      order = BatchOrder.restore(trainSet.count, ck.meta.order);
      startStep = ck.meta.step;
      log(`resumed from ${ckptPath} at step ${startStep}`);
    } else {
      order = new BatchOrder(trainSet.count, o.seed);
      const t0 = performance.now();
      // Data-dependent init on one batch, then the EMA starts from the initialised weights (pitfall 1).
      const initIdx = new BatchOrder(trainSet.count, o.seed + 1).next(Math.min(trainSet.count, Math.max(batch, 16)));
      engine.scope(() => {
        const x = engine.tensor(gatherBatch(trainSet, initIdx), [initIdx.length, modelCfg.imageSize, modelCfg.imageSize, channels]);
        const ctx = new Ctx(engine, params, true, true, { p: modelCfg.pixelcnn.dropout, seed: o.seed }, 0xffff0000);
        engine.noGrad(() => model.loss(ctx, x, { lambda: o.lambda, phase: 'joint', useAux: true }));
      });
      params.initEma();
      await engine.sync();
      log(`data-dependent init on ${initIdx.length} images: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }

    const save = async (step: number): Promise<void> => {
      const ck = await params.serialize();
      const meta: CheckpointMeta = { version: 1, step, signature, order: order.state(), names: ck.names, shapes: ck.shapes, hasEma: !!ck.ema, hasState: !!ck.v, data: dataId };
      const arrays: Record<string, Float32Array> = { params: ck.params };
      if (ck.ema) arrays.ema = ck.ema;
      if (ck.v && ck.u) {
        arrays.v = ck.v;
        arrays.u = ck.u;
      }
      saveCheckpoint(ckptPath, { meta: meta as unknown as Record<string, unknown>, arrays }, { requireFinite: true });
    };

    const D = model.dims;
    const bpd = (nats: number): number => bitsPerDim(nats, D);
    const start = performance.now();
    let windowStart = performance.now();
    let windowImages = 0;
    const deadline = o.timeLimitMinutes !== undefined ? start + o.timeLimitMinutes * 60_000 : Infinity;
    // --- issue 9: trim metrics to the checkpoint's step, mark the run; nothing to do past --steps ---
    run.start(startStep, log);
    if (startStep >= o.steps && !o.agaveSamples) {
      log(nothingToDoMessage(startStep, o.steps, ckptPath));
      return result;
    }
    let step = startStep;
    for (; step < o.steps; step++) {
      const phase = phaseAt(o, step);
      const useAux = o.dropAuxAt === undefined || step < o.dropAuxAt;
      const idx = order.next(batch);
      const values = await engine.asyncScope(async () => {
        const x = engine.tensor(gatherBatch(trainSet, idx), [batch, modelCfg.imageSize, modelCfg.imageSize, channels]);
        const ctx = new Ctx(engine, params, false, true, { p: modelCfg.pixelcnn.dropout, seed: o.seed }, step * STREAMS_PER_STEP);
        const t = model.loss(ctx, x, { lambda: o.lambda, phase, useAux });
        // One readback of all terms (kept: backward frees intermediates).
        const parts = [t.loss, t.pixelcnnNll ?? t.auxNll, t.auxNll, t.klTrue, t.klObjective].map((p) => ops.reshape(p, [1]));
        const packed = engine.noGrad(() => ops.concat(parts, 0)).keep();
        params.zeroGrad();
        engine.backward(t.loss);
        const v = await packed.read();
        packed.dispose();
        return v;
      });
      const [loss, pcnn, aux, kl, klObj] = [...values] as [number, number, number, number, number];
      if (![loss, pcnn, aux, kl, klObj].every(Number.isFinite)) {
        const what = [['loss', loss], ['pixelcnn', pcnn], ['aux', aux], ['kl', kl]].filter(([, v]) => !Number.isFinite(v as number)).map(([n]) => n).join(', ');
        log(`step ${step + 1}: non-finite ${what} (loss ${loss}); stopping. The last good checkpoint (${existsSync(ckptPath) ? ckptPath : 'none written yet'}) is kept unchanged.`);
        result.stoppedEarly = 'nan';
        return result;
      }
      params.adamaxStep({ lr: o.lr });
      // EMA warm-up as TF's ExponentialMovingAverage(num_updates): early averages are not dominated by the
      // initial weights; a function of the step, so resumed runs match.
      params.emaUpdate(Math.min(o.emaDecay, (1 + step) / (10 + step)));
      // --- issue 9: never save a non-finite model: parameters, EMA and Adamax state, one fused GPU check ---
      const health = await params.nonFiniteCheck();
      if (!health.finite) {
        log(nonFiniteStateMessage(step + 1, health, existsSync(ckptPath) ? ckptPath : null));
        result.stoppedEarly = 'nan';
        return result;
      }
      windowImages += batch;
      const rec: StepRecord = {
        step: step + 1,
        phase,
        loss: bpd(loss),
        pixelcnn: phase === 'vae' ? null : bpd(pcnn),
        aux: bitsPerDim(aux, model.auxDims),
        kl: bpd(kl),
        klObjective: bpd(klObj),
        imagesPerSecond: 0,
      };
      const now = performance.now();
      rec.imagesPerSecond = windowImages / ((now - windowStart) / 1000);
      result.steps.push(rec);
      appendJsonl(metricsPath, { type: 'train', ...rec });
      if ((step + 1) % o.logEvery === 0 || step === startStep || step + 1 === o.steps) {
        const done = step + 1 - startStep;
        const eta = ((now - start) / 1000 / done) * (o.steps - step - 1);
        log(
          `step ${String(step + 1).padStart(String(o.steps).length)}/${o.steps} [${phase}] loss ${rec.loss.toFixed(3)} bpd | ` +
            `pixelcnn ${rec.pixelcnn === null ? '  -  ' : rec.pixelcnn.toFixed(3)} aux ${rec.aux.toFixed(3)} kl ${rec.kl.toFixed(3)} (obj ${rec.klObjective.toFixed(3)}) | ` +
            `${rec.imagesPerSecond.toFixed(1)} img/s | ETA ${formatDuration(eta)}`,
        );
        windowStart = now;
        windowImages = 0;
      }
      const last = step + 1 === o.steps;
      if ((step + 1) % o.evalEvery === 0 || last) result.evals.push(await evaluate(engine, model, params, testSet, o, step + 1, log, metricsPath, last ? (o.iwSamples ?? 1) : 1));
      if ((step + 1) % o.checkpointEvery === 0 || last) await save(step + 1);
      if (performance.now() > deadline && !last) {
        await save(step + 1);
        log(`time limit of ${o.timeLimitMinutes} min reached at step ${step + 1}; checkpoint saved (continue with --resume)`);
        result.stoppedEarly = 'time';
        step++; // steps done, for the summary
        break;
      }
      // --- issue 9: graceful stop (SIGINT/SIGTERM via train/signals.ts): finish the step, checkpoint, stop ---
      if (o.stopSignal?.requested) {
        if (!last && (step + 1) % o.checkpointEvery !== 0) await save(step + 1); // else just written
        log(`${o.stopSignal.signal ?? 'stop'} received: stopped after step ${step + 1}; checkpoint ${ckptPath} written (continue with --resume)`);
        result.stoppedEarly = 'signal';
        step++;
        break;
      }
    }
    if (o.agaveSamples && !o.stopSignal?.requested) await sampleAgave(engine, model, params, o, log);
    log(`done: ${step} steps in ${formatDuration((performance.now() - start) / 1000)}; outputs in ${o.out}`);
    return result;
  } finally {
    params.dispose();
    engine.dispose();
  }
}

/**
 * Test bits/dim with EMA weights and no dropout: the single-sample bound with lambda = 1 and the true KL,
 * -log p(x|z) (PixelCNN) + KL, over D = C*H*W; also the auxiliary NLL. Writes a PNG grid of test images,
 * VAE reconstructions and VAE samples.
 */
async function evaluate(engine: Engine, model: Agave, params: ParameterSet, test: ImageSet, o: TrainOptions, step: number, log: Logger, metricsPath: string, iw = 1): Promise<EvalRecord> {
  const size = model.cfg.imageSize;
  const c = test.channels;
  const n = Math.min(o.evalImages, test.count);
  const batch = o.batch ?? model.cfg.batch;
  let pc = 0;
  let kl = 0;
  let aux = 0;
  let counted = 0;
  let iwNats = 0;
  const t0 = performance.now();
  const grid = await params.withEma(async () => {
    for (let s = 0; s < n; s += batch) {
      const idx = Array.from({ length: Math.min(batch, n - s) }, (_, i) => s + i);
      // log w_k = log p(x|z_k) + log p(z_k) - log q(z_k|x) per image, for K independent z_k ~ q (sample 0 is
      // also the single-sample bound); IWAE = logsumexp_k log w_k - log K (Burda et al.), in float64 here.
      const logw: Float32Array[] = [];
      for (let k = 0; k < iw; k++) {
        const v = await engine.asyncScope(async () => {
          const x = engine.tensor(gatherBatch(test, idx), [idx.length, size, size, c]);
          const ctx = new Ctx(engine, params, false, false, { p: 0, seed: o.seed }, 0x80000000 + s + k * 0x100000);
          const t = engine.noGrad(() => model.loss(ctx, x, { lambda: 1, phase: 'joint', useAux: true }));
          const parts = [t.perImage.pixelcnnNll!, t.perImage.kl, ops.reshape(t.auxNll, [1])];
          return engine.noGrad(() => ops.concat(parts, 0)).read();
        });
        const m = idx.length;
        logw.push(v.subarray(0, m).map((nll, i) => -(nll + v[m + i]!)));
        if (k === 0) {
          for (let i = 0; i < m; i++) {
            pc += v[i]!;
            kl += v[m + i]!;
          }
          aux += v[2 * m]! * m;
        }
      }
      for (let i = 0; i < idx.length; i++) {
        const ws = logw.map((l) => l[i]!);
        const mx = Math.max(...ws);
        iwNats += -(mx + Math.log(ws.reduce((a, w) => a + Math.exp(w - mx), 0)) - Math.log(iw));
      }
      counted += idx.length;
    }
    // Grid: 8 test images, their reconstructions, 8 VAE samples (decoder means f(z), z from the prior).
    const k = Math.min(8, test.count);
    return engine.asyncScope(async () => {
      const idx = Array.from({ length: k }, (_, i) => i);
      const x = engine.tensor(gatherBatch(test, idx), [k, size, size, c]);
      const ctx = new Ctx(engine, params, false, false, { p: 0, seed: o.seed }, 0x90000000);
      const recon = await engine.noGrad(() => model.reconstruct(ctx, x)).read();
      const samples = await engine.noGrad(() => model.sampleVae(ctx, k)).read();
      return { originals: gatherBatch(test, idx), recon, samples, k };
    });
  });
  const rec: EvalRecord = {
    step,
    testBitsPerDim: bitsPerDim((pc + kl) / counted, model.dims),
    pixelcnn: bitsPerDim(pc / counted, model.dims),
    kl: bitsPerDim(kl / counted, model.dims),
    aux: bitsPerDim(aux / counted, model.auxDims),
    images: counted,
  };
  if (iw > 1) {
    rec.iwBitsPerDim = bitsPerDim(iwNats / counted, model.dims);
    rec.iwSamples = iw;
  }
  appendJsonl(metricsPath, { type: 'eval', ...rec });
  const png = join(o.out, `samples-step${String(step).padStart(6, '0')}.png`);
  writeGrid(png, grid, model, size, c);
  log(
    `eval @ step ${step}: test ${rec.testBitsPerDim.toFixed(3)} bits/dim (pixelcnn ${rec.pixelcnn.toFixed(3)} + kl ${rec.kl.toFixed(3)}; aux ${rec.aux.toFixed(3)}) ` +
      `${rec.iwBitsPerDim !== undefined ? `importance-weighted (K=${iw}) ${rec.iwBitsPerDim.toFixed(3)}; ` : ''}on ${counted} images, EMA weights, ${((performance.now() - t0) / 1000).toFixed(1)} s; grid ${png}`,
  );
  return rec;
}

/**
 * AGAVE samples (MODEL_SPEC §1.5): z from the IAF-VAE prior, f(z) the decoder mean (not a sample of y), then the
 * PixelCNN run autoregressively conditioned on f(z): H*W network passes, each writing one raster position of
 * every image (DMOL sampler, EMA weights, no dropout). Writes agave-samples.png: f(z) above its samples x.
 */
export async function sampleAgave(engine: Engine, model: Agave, params: ParameterSet, o: TrainOptions, log: Logger): Promise<Float32Array> {
  const n = o.agaveSamples ?? 8;
  const S = model.cfg.imageSize;
  const C = model.channels;
  const t0 = performance.now();
  const out = await params.withEma(async () => {
    const ctx = new Ctx(engine, params, false, false, { p: 0, seed: o.seed }, 0xa0000000);
    const fz = engine.noGrad(() => model.auxMean(model.vae.sample(ctx, n))).keep();
    const cond = engine.noGrad(() => model.conditioning(fz)).keep();
    const canvas = engine.zeros([n, S, S, C]).keep();
    const stream = ctx.nextStream();
    for (let row = 0; row < S; row++) {
      for (let col = 0; col < S; col++) {
        engine.scope(() => {
          const p = engine.noGrad(() => model.pixelcnn.forward(ctx, canvas, cond));
          ops.dmolSample(p, model.cfg.pixelcnn.mixtures, { seed: o.seed, stream, position: { row, col }, canvas });
          return undefined;
        });
      }
      await engine.sync();
      if (row % 8 === 7 || row === S - 1) log(`sampling: row ${row + 1}/${S} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    }
    const pixels = engine.noGrad(() => ops.clamp(ops.mulScalar(ops.addScalar(canvas, 1), 127.5), 0, 255));
    const x = await pixels.read();
    const f = await engine.noGrad(() => toPixels(fz)).read();
    for (const t of [fz, cond, canvas, pixels]) t.dispose();
    return { x, f };
  });
  const k = n;
  const size = S * S * C;
  const show = new Uint8Array(2 * k * size);
  const a = model.auxSize;
  const ac = model.auxChannels;
  const fac = S / a;
  for (let i = 0; i < k; i++)
    for (let y = 0; y < S; y++)
      for (let xx = 0; xx < S; xx++)
        for (let ch = 0; ch < C; ch++) {
          const src = ((i * a + Math.floor(y / fac)) * a + Math.floor(xx / fac)) * ac + (ac === 1 ? 0 : ch);
          show[i * size + (y * S + xx) * C + ch] = Math.round(out.f[src]!);
          show[(k + i) * size + (y * S + xx) * C + ch] = Math.round(out.x[i * size + (y * S + xx) * C + ch]!);
        }
  const grid = imageGrid(show, 2 * k, S, S, C, k, 2, ['f(z)', 'x']);
  const path = join(o.out, 'agave-samples.png');
  writePngAtomic(path, encodePng(grid.pixels, grid.width, grid.height, grid.channels));
  log(`${n} AGAVE samples (${S * S} PixelCNN passes) in ${formatDuration((performance.now() - t0) / 1000)}: ${path}`);
  return out.x;
}

function writeGrid(path: string, g: { originals: Uint8Array; recon: Float32Array; samples: Float32Array; k: number }, model: Agave, size: number, c: number): void {
  const a = model.auxSize;
  const ac = model.auxChannels;
  // Bring aux-resolution / grayscale images to size x size x c for display.
  const show = (v: Float32Array): Uint8Array => {
    const out = new Uint8Array(g.k * size * size * c);
    const f = size / a;
    for (let n = 0; n < g.k; n++)
      for (let y = 0; y < size; y++)
        for (let x = 0; x < size; x++)
          for (let ch = 0; ch < c; ch++) {
            const src = ((n * a + Math.floor(y / f)) * a + Math.floor(x / f)) * ac + (ac === 1 ? 0 : ch);
            out[((n * size + y) * size + x) * c + ch] = Math.max(0, Math.min(255, Math.round(v[src]!)));
          }
    return out;
  };
  const all = new Uint8Array(3 * g.k * size * size * c);
  all.set(g.originals, 0);
  all.set(show(g.recon), g.k * size * size * c);
  all.set(show(g.samples), 2 * g.k * size * size * c);
  const grid = imageGrid(all, 3 * g.k, size, size, c, g.k, 2, ['test', 'recon', 'sample']);
  writePngAtomic(path, encodePng(grid.pixels, grid.width, grid.height, grid.channels));
}

export type { Tensor };
