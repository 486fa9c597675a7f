// Sampling a run's model with its EMA weights: the autoregressive PixelCNN++ (conditioned on f(z) for AGAVE,
// unconditional for PixelCNN++ alone; the cached sampler by default, model/sampler.ts), the VAE's decoder mean
// and its discretized logistic draws, and `--agave-samples N` after training. A graceful stop ends the drawing
// after the current row (StopRequested).
import { ops, type Tensor } from '../../engine/index.js';
import { Agave, Ctx, toPixels } from '../../model/agave.js';
import { gatherBatch } from '../data/image-sets.js';
import { drawPixels } from '../../model/sampler.js';
import { mulberry32 } from '../common/random.js';
import { formatDuration } from '../common/units.js';
import { StopRequested } from '../run/stop.js';
import type { Run } from '../step/run.js';
import type { Logger } from '../types.js';
import { auxToDisplay } from './rows.js';

/**
 * Runs the PixelCNN autoregressively conditioned on `fz` (the decoder mean at the aux resolution, IAF units;
 * docs/MODEL.md §1.5), or, for the PixelCNN alone, unconditionally on `fz` = a number of images: H*W raster
 * positions, each drawn for every image of the batch at once (DMOL sampler, no dropout; the caller chooses the
 * weights). The cached sampler (default; model/pixelcnn_cached.ts) recomputes after each pixel only the
 * activations it changes; `--sampler naive` runs a full network pass per pixel (the reference: same seed, same
 * images). Returns the images in 0..255.
 */
export async function samplePixelcnn(run: Run, fz: Tensor | number, streamBase: number, log: Logger, what: string): Promise<Float32Array> {
  const { engine, model, params, options: o } = run;
  const S = model.cfg.imageSize;
  const conditional = typeof fz !== 'number';
  if (conditional !== (model.kind === 'agave')) throw new Error(`samplePixelcnn: the ${model.kind} model's PixelCNN is ${model.kind === 'agave' ? 'conditional: pass f(z)' : 'unconditional: pass the number of images'}`);
  const n = conditional ? fz.shape[0]! : fz;
  const sampler = o.sampler ?? 'cached';
  const t0 = performance.now();
  // A frozen context: effective weights and the conditioning stream are computed on the first pass only.
  const ctx = new Ctx(engine, params, { seed: o.seed, streamBase: streamBase }).freeze();
  const cond = conditional ? engine.noGrad(() => model.conditioning(fz)).keep() : null;
  const canvas = engine.zeros([n, S, S, model.channels]).keep();
  const d0 = engine.runner.dispatchCount;
  try {
    const stream = ctx.nextStream();
    const complete = await drawPixels(ctx, model.pixelcnn, canvas, cond, {
      sampler,
      seed: o.seed,
      stream,
      stop: () => o.stopSignal?.requested ?? false,
      onRow: (row) => {
        run.store.progress?.(what, row + 1, S);
        if (row % 8 !== 7 && row !== S - 1) return;
        const el = (performance.now() - t0) / 1000;
        const perPixel = Math.round((engine.runner.dispatchCount - d0) / ((row + 1) * S));
        log(`${what}: row ${row + 1}/${S}, ${((row + 1) / el).toFixed(2)} rows/s (${sampler} sampler, batch ${n}, ${perPixel} dispatches per pixel), ETA ${formatDuration((el / (row + 1)) * (S - row - 1))}`);
      },
    });
    if (!complete) throw new StopRequested(o.stopSignal?.signal, what);
    return await engine.noGrad(() => ops.clamp(ops.mulScalar(ops.addScalar(canvas, 1), 127.5), 0, 255)).read();
  } finally {
    ctx.releaseFrozen();
    cond?.dispose();
    canvas.dispose();
  }
}

/** A model's samples as labelled rows of uint8 NHWC images (the grids' and figures' format). */
export interface SampleRows {
  /** The rows, the last being the model's samples of x. */
  rows: { label: string; images: Uint8Array }[];
  /** The samples of x, 0..255. */
  x: Float32Array;
  /** What was drawn, for logs and figure captions. */
  what: string;
}

/** Row labels of each kind's samples of x (experiments pick them from the saved JSON). */
export const SAMPLE_LABELS = { agave: 'AGAVE x', pixelcnn: 'PixelCNN++ x', vae: 'VAE x drawn from p(x|z)' } as const;

/**
 * n samples of the run's model with the EMA weights:
 * - AGAVE (docs/MODEL.md §1.5): z from the IAF-VAE prior, f(z) the decoder mean (not a sample of y), then the
 *   PixelCNN run autoregressively conditioned on f(z); rows f(z) and x.
 * - PixelCNN++ alone: H*W autoregressive passes, unconditional; one row x.
 * - IAF-VAE alone: z from the prior; rows the decoder mean f(z) (what VAE sample figures usually show,
 *   blurry) and x drawn from p(x|z) (every pixel and channel independently from its discretized logistic,
 *   K = 256, with the learned per-channel scale: the model's actual samples, noisy).
 */
export async function modelSamples(run: Run, n: number, log: Logger, streamBase = 0xa0000000): Promise<SampleRows> {
  const { engine, model, params, options: o } = run;
  const S = model.cfg.imageSize;
  const C = model.channels;
  const toU8 = (v: Float32Array): Uint8Array => Uint8Array.from(v, (p) => Math.round(p));
  if (model.kind === 'pixelcnn') {
    const x = await params.withEma(() => samplePixelcnn(run, n, streamBase + 0x1000000, log, 'PixelCNN++ sampling'));
    return { rows: [{ label: SAMPLE_LABELS.pixelcnn, images: toU8(x) }], x, what: `${n} PixelCNN++ samples (${S * S} pixels, ${o.sampler ?? 'cached'} sampler)` };
  }
  if (model.kind === 'vae') {
    const { f, logScale } = await params.withEma(async () =>
      engine.asyncScope(async () => {
        const ctx = new Ctx(engine, params, { seed: o.seed, streamBase: streamBase });
        const mean = engine.noGrad(() => model.auxMean(model.vae.sample(ctx, n)));
        return { f: await mean.read(), logScale: await ctx.p(model.logScaleName).read() };
      }),
    );
    const x = sampleDiscretizedLogistic(f, logScale, o.seed ^ streamBase);
    const mean = Float32Array.from(f, (v) => Math.max(0, Math.min(255, (v + 0.5) * 256 - 0.5)));
    return {
      rows: [
        { label: 'VAE mean f(z)', images: auxToDisplay(mean, n, model, S, C) },
        { label: SAMPLE_LABELS.vae, images: toU8(x) },
      ],
      x,
      what: `${n} VAE samples (decoder mean and a draw from p(x|z))`,
    };
  }
  const out = await params.withEma(async () => {
    const ctx = new Ctx(engine, params, { seed: o.seed, streamBase: streamBase });
    const fz = engine.noGrad(() => model.auxMean(model.vae.sample(ctx, n))).keep();
    try {
      const x = await samplePixelcnn(run, fz, streamBase + 0x1000000, log, 'AGAVE sampling');
      const f = await engine.noGrad(() => toPixels(fz)).read();
      return { x, f };
    } finally {
      fz.dispose();
    }
  });
  return {
    rows: [
      { label: 'VAE f(z)', images: auxToDisplay(out.f, n, model, S, C) },
      { label: SAMPLE_LABELS.agave, images: toU8(out.x) },
    ],
    x: out.x,
    what: `${n} AGAVE samples (${S * S} pixels, ${o.sampler ?? 'cached'} sampler)`,
  };
}

/**
 * x ~ p(x|mean) per element: the K = 256 discretized logistic of docs/MODEL.md §3.7 with per-channel log-scales
 * (the channel is the last axis). A continuous logistic draw mean + s * log(u / (1 - u)) floored to its bin
 * [k/256 - 0.5, (k+1)/256 - 0.5); draws beyond the edges go to bins 0 and 255. Returns pixel values 0..255.
 */
export function sampleDiscretizedLogistic(mean: Float32Array, logScale: Float32Array, seed: number): Float32Array {
  const C = logScale.length;
  const rand = mulberry32(seed);
  return Float32Array.from(mean, (m, i) => {
    const u = Math.min(Math.max(rand(), 1e-7), 1 - 1e-7);
    const v = m + Math.exp(logScale[i % C]!) * Math.log(u / (1 - u));
    return Math.max(0, Math.min(255, Math.floor((v + 0.5) * 256)));
  });
}

const SAMPLE_KIND_WORDS = { agave: 'AGAVE', pixelcnn: 'PixelCNN++', vae: 'VAE' } as const;

/** Where sampleModel writes each kind's samples (PNG, and the rows as JSON beside it). */
export const SAMPLE_FILES = { agave: 'agave-samples', pixelcnn: 'pixelcnn-samples', vae: 'vae-samples' } as const;

/**
 * `--agave-samples N` after training: N samples of the run's model (modelSamples) written as
 * OUT/<kind>-samples.png (agave-samples.png for AGAVE: f(z) above its samples x) and .json.
 */
export async function sampleModel(run: Run, log: Logger): Promise<Float32Array> {
  const { model, options: o } = run;
  const n = o.agaveSamples ?? 8;
  const t0 = performance.now();
  const S = model.cfg.imageSize;
  log(`drawing ${n} ${SAMPLE_KIND_WORDS[model.kind]} samples` + (model.kind === 'vae' ? '' : ` (${S * S} pixels each, ${o.sampler ?? 'cached'} sampler)`));
  const s = await modelSamples(run, n, log);
  const name = SAMPLE_FILES[model.kind];
  const path = run.store.rowsPath(name);
  run.store.writeImageRows(name, { size: model.cfg.imageSize, channels: model.channels, cols: n, rows: s.rows }, name);
  log(`${s.what} in ${formatDuration((performance.now() - t0) / 1000)}: ${path}`);
  return s.x;
}

/** A latent interpolation (interpolateLatents): the decoder means along the path and the images at its ends. */
export interface LatentPath {
  /** f(z_t) of every pair and step t, [pairs * steps, aux size, aux size, aux channels], IAF units (kept: the caller disposes it). */
  fz: Tensor;
  /** f(z_t) in pixels 0..255 (the aux image's resolution and channels: auxToDisplay shows it). */
  f: Float32Array;
  /** The test images at the ends, uint8 NHWC, in the order of `pairs` flattened. */
  originals: Uint8Array;
}

/**
 * The paper's Figure 6: for each pair of test images (indices), z of both encoded (one posterior sample per
 * level), linearly interpolated in `steps` steps from the first to the second, and decoded to f(z_t). With the
 * weights in use (the caller chooses: withEma); the PixelCNN conditioned on `fz` draws the full model's images.
 */
export async function interpolateLatents(run: Run, pairs: readonly (readonly [number, number])[], steps: number, noise: { seed: number; streamBase: number }): Promise<LatentPath> {
  const { engine, model, params } = run;
  const S = model.cfg.imageSize;
  const C = model.channels;
  if (!model.hasVae) throw new Error(`a latent interpolation needs a VAE: the ${model.kind} model has none`);
  if (steps < 2) throw new Error(`a latent interpolation needs at least 2 steps, got ${steps}`);
  const ctx = new Ctx(engine, params, noise);
  const idx = pairs.flat();
  const originals = gatherBatch(run.testSet, idx);
  const xb = engine.tensor(originals, [idx.length, S, S, C]);
  const zs = engine.noGrad(() => model.vae.encodeLatents(ctx, Agave.vaeInput(xb)));
  const interp = engine.noGrad(() =>
    zs.map((z) => {
      const parts: Tensor[] = [];
      const shape = z.shape.slice(1);
      pairs.forEach((_, p) => {
        const a = ops.slice(z, [2 * p, 0, 0, 0], [2 * p + 1, ...shape]);
        const b = ops.slice(z, [2 * p + 1, 0, 0, 0], [2 * p + 2, ...shape]);
        for (let t = 0; t < steps; t++) parts.push(ops.add(ops.mulScalar(a, 1 - t / (steps - 1)), ops.mulScalar(b, t / (steps - 1))));
      });
      return ops.concat(parts, 0);
    }),
  );
  const fz = engine.noGrad(() => model.auxMean(model.vae.decodeLatents(ctx, interp))).keep();
  try {
    const f = await engine.noGrad(() => toPixels(fz)).read();
    return { fz, f, originals };
  } catch (e) {
    fz.dispose();
    throw e;
  } finally {
    xb.dispose();
    for (const t of [...zs, ...interp]) t.dispose();
  }
}
