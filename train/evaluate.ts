// Evaluation of a run (EMA weights, no dropout): the bits/dim of the paper (the single-sample bound
// -log p(x|z) + KL with lambda = 1 and the true KL, and optionally the importance-weighted bound), and what
// shows whether the VAE is alive: the auxiliary NLL, the KL, the latent channels in use and the PSNR of the
// VAE's reconstruction f(z) against the auxiliary target y. Also the PNG grids and the autoregressive
// PixelCNN sampler (z from the prior for AGAVE samples, or f(z) of test images for PixelCNN reconstructions).
// The baselines (model/agave.ts kinds): PixelCNN++ alone is evaluated by its exact likelihood (no KL, no
// importance sampling: it has no latents); the IAF-VAE alone by -log p(x|z) + KL of its decoder on x, single
// sample and importance-weighted, as AGAVE.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ops, type Tensor } from '../engine/index.js';
import { Agave, Ctx, pixelsOf, toPixels } from '../model/agave.js';
import { drawPixels } from '../model/sampler.js';
import { gatherBatch } from './data.js';
import { appendJsonl, bitsPerDim, formatDuration } from './metrics.js';
import { encodePng, imageGrid, writePngAtomic } from './png.js';
import type { Run } from './setup.js';
import { StopRequested } from './run-folder.js';
import type { EvalRecord, Logger } from './types.js';

/**
 * A latent channel counts as active when its KL (nats per image, summed over its positions) is above the
 * free-bits floor: below it the objective does not pay for the channel (its KL gets no gradient), so a
 * collapsed VAE sits there on every channel; at least 0.01 nats when free bits are off.
 */
export function activeThreshold(klMin: number): number {
  return Math.max(klMin, 0.01);
}

/** PSNR in dB of a mean squared error in 0..255 pixel units. */
export function psnr(mse: number): number {
  return mse > 0 ? 10 * Math.log10((255 * 255) / mse) : Infinity;
}

export interface EvalOptions {
  /** Importance samples for the IWAE bound (1: off). */
  iw: number;
  /** Test images whose PixelCNN reconstruction (sampled autoregressively given their f(z)) goes in the grid (0: none). */
  pixelcnnRecon: number;
}

/**
 * The importance-weighted bound of one image in nats from its K log-weights log w_k = log p(x, z_k) - log q(z_k|x):
 * -(logsumexp_k log w_k - log K) (Burda et al.), in float64, max-shifted. For K = 1 it is -log w_1, the
 * single-sample bound -log p(x|z) + log q(z|x) - log p(z).
 */
export function importanceWeightedNats(logw: readonly number[]): number {
  if (logw.length === 0) throw new Error('importanceWeightedNats: no log-weights');
  const mx = Math.max(...logw);
  if (!Number.isFinite(mx)) return -mx;
  let sum = 0;
  for (const w of logw) sum += Math.exp(w - mx);
  return -(mx + Math.log(sum) - Math.log(logw.length));
}

export async function evaluate(run: Run, step: number, log: Logger, opt: EvalOptions): Promise<EvalRecord> {
  const { engine, model, params, testSet: test, o, r } = run;
  const size = model.cfg.imageSize;
  const c = test.channels;
  const n = Math.min(o.evalImages, test.count);
  const batch = r.batch;
  // The PixelCNN alone has no latent variables: its likelihood is exact, K importance samples would be K copies.
  const iw = model.hasVae ? opt.iw : 1;
  if (opt.iw > 1 && !model.hasVae) log(`eval: the PixelCNN++ likelihood is exact; no importance-weighted bound (--iw-samples ${opt.iw} ignored)`);
  let pc = 0;
  let kl = 0;
  let aux = 0;
  let sqErr = 0;
  let sqCount = 0;
  let channelKl: Float64Array | null = null;
  let counted = 0;
  let iwNats = 0;
  const levelWidth = 256 / model.levels;
  const t0 = performance.now();
  const grid = await params.withEma(async () => {
    for (let s = 0; s < n; s += batch) {
      const idx = Array.from({ length: Math.min(batch, n - s) }, (_, i) => s + i);
      const m = idx.length;
      // log w_k = log p(x|z_k) + log p(z_k) - log q(z_k|x) per image, for K independent z_k ~ q (sample 0 is
      // also the single-sample bound); IWAE = logsumexp_k log w_k - log K (Burda et al.), in float64 here.
      const logw: Float32Array[] = [];
      for (let k = 0; k < iw; k++) {
        const v = await engine.asyncScope(async () => {
          const x = engine.tensor(gatherBatch(test, idx), [m, size, size, c]);
          const ctx = new Ctx(engine, params, { seed: o.seed, streamBase: 0x80000000 + s + k * 0x100000 });
          return engine.noGrad(() => {
            const t = model.loss(ctx, x, { lambda: 1, phase: 'joint', useAux: true });
            // -log p(x|z) of the model of x: the PixelCNN (AGAVE, PixelCNN++ alone) or the VAE decoder (VAE alone).
            const parts = [t.perImage.xNll!, t.perImage.kl, ops.reshape(t.auxNll ?? engine.zeros([1]), [1])];
            if (k === 0) {
              // Squared error of f(z) (pixels) against the centre of y's bin, and the KL per latent channel.
              if (t.auxMean && t.auxTarget) {
                const fzPixels = pixelsOf(t.auxMean);
                const centre = ops.addScalar(t.auxTarget, (levelWidth - 1) / 2);
                parts.push(ops.reshape(ops.sum(ops.square(ops.sub(fzPixels, centre))), [1]));
              } else parts.push(engine.zeros([1]));
              for (const layer of t.klLayers) parts.push(ops.sum(layer, [0, 1, 2]));
            }
            return ops.concat(parts, 0);
          }).read();
        });
        logw.push(v.subarray(0, m).map((nll, i) => -(nll + v[m + i]!)));
        if (k === 0) {
          for (let i = 0; i < m; i++) {
            pc += v[i]!;
            kl += v[m + i]!;
          }
          aux += v[2 * m]! * m;
          sqErr += v[2 * m + 1]!;
          sqCount += m * model.auxDims;
          const ch = v.subarray(2 * m + 2);
          channelKl ??= new Float64Array(ch.length);
          for (let j = 0; j < ch.length; j++) channelKl[j]! += ch[j]!;
        }
      }
      for (let i = 0; i < m; i++) iwNats += importanceWeightedNats(logw.map((l) => l[i]!));
      counted += m;
    }
    return drawGrid(run, opt.pixelcnnRecon, log);
  });
  const perChannel = channelKl ? [...(channelKl as Float64Array)].map((v) => v / counted) : [];
  const rec: EvalRecord = {
    step,
    testBitsPerDim: bitsPerDim((pc + kl) / counted, model.dims),
    pixelcnn: model.hasPixelcnn ? bitsPerDim(pc / counted, model.dims) : null,
    kl: bitsPerDim(kl / counted, model.dims),
    aux: model.hasVae ? bitsPerDim(aux / counted, model.auxDims) : null,
    psnr: model.hasVae ? psnr(sqErr / sqCount) : null,
    activeLatents: perChannel.filter((v) => v > activeThreshold(model.cfg.vae.klMin)).length,
    latentChannels: perChannel.length,
    klPerChannel: perChannel.map((v) => Number(v.toPrecision(4))),
    images: counted,
  };
  if (iw > 1) {
    rec.iwBitsPerDim = bitsPerDim(iwNats / counted, model.dims);
    rec.iwSamples = iw;
  }
  appendJsonl(run.paths.metrics, { type: 'eval', ...rec });
  const png = join(o.out, `samples-step${String(step).padStart(6, '0')}.png`);
  writeGrid(png, grid, model, size, c);
  const f = (v: number | null, d: number): string => (v === null ? '-' : v.toFixed(d));
  const terms =
    model.kind === 'pixelcnn'
      ? '(PixelCNN++ alone: exact -log p(x))'
      : model.kind === 'vae'
        ? `(-log p(x|z) ${f(rec.aux, 3)} + kl ${rec.kl.toFixed(4)})`
        : `(pixelcnn ${f(rec.pixelcnn, 3)} + kl ${rec.kl.toFixed(4)})`;
  const vaeStats = !model.hasVae
    ? ''
    : `VAE: ${model.kind === 'agave' ? `aux ${f(rec.aux, 3)} bits/dim, ` : ''}recon PSNR ${f(rec.psnr, 1)} dB, ${rec.activeLatents}/${rec.latentChannels} latent channels active | `;
  log(
    `eval @ step ${step}: test ${rec.testBitsPerDim.toFixed(3)} bits/dim ${terms} | ${vaeStats}` +
      `${rec.iwBitsPerDim !== undefined ? `importance-weighted (K=${iw}) ${rec.iwBitsPerDim.toFixed(3)} | ` : ''}${counted} images, EMA weights, ${((performance.now() - t0) / 1000).toFixed(1)} s; grid ${png}`,
  );
  return rec;
}

interface Grid {
  originals: Uint8Array;
  /** VAE reconstructions f(z) of the test images (null without a VAE). */
  recon: Float32Array | null;
  /**
   * PixelCNN samples (0..255, image size), or null: for AGAVE conditioned on the f(z) of the first test images;
   * for the PixelCNN alone unconditional samples.
   */
  pixelcnn: Float32Array | null;
  /** VAE samples f(z), z from the prior (null without a VAE). */
  samples: Float32Array | null;
  k: number;
}

/**
 * The grid's images: 8 test images, their VAE reconstructions f(z), optionally PixelCNN samples given those
 * f(z), and 8 VAE samples. For the PixelCNN alone: the test images and, when `pixelcnnRecon` > 0, that many
 * unconditional PixelCNN++ samples; for the VAE alone: no PixelCNN row.
 */
async function drawGrid(run: Run, pixelcnnRecon: number, log: Logger): Promise<Grid> {
  const { engine, model, params, testSet: test, o } = run;
  const size = model.cfg.imageSize;
  const k = Math.min(8, test.count);
  const idx = Array.from({ length: k }, (_, i) => i);
  const originals = gatherBatch(test, idx);
  const { recon, samples } = !model.hasVae
    ? { recon: null, samples: null }
    : await engine.asyncScope(async () => {
        const x = engine.tensor(originals, [k, size, size, test.channels]);
        const ctx = new Ctx(engine, params, { seed: o.seed, streamBase: 0x90000000 });
        return { recon: await engine.noGrad(() => model.reconstruct(ctx, x)).read(), samples: await engine.noGrad(() => model.sampleVae(ctx, k)).read() };
      });
  let pixelcnn: Float32Array | null = null;
  const nr = model.hasPixelcnn ? Math.min(pixelcnnRecon, k) : 0;
  if (nr > 0 && model.kind === 'pixelcnn') {
    pixelcnn = new Float32Array(k * size * size * test.channels);
    pixelcnn.set(await samplePixelcnn(run, nr, 0x99000000, log, 'PixelCNN++ samples'));
  } else if (nr > 0) {
    const fz = engine.noGrad(() => {
      const x = engine.tensor(gatherBatch(test, idx.slice(0, nr)), [nr, size, size, test.channels]);
      const ctx = new Ctx(engine, params, { seed: o.seed, streamBase: 0x98000000 });
      return model.auxMean(model.vae.forward(ctx, Agave.vaeInput(x)).mean).keep();
    });
    try {
      const drawn = await samplePixelcnn(run, fz, 0x99000000, log, 'PixelCNN reconstructions');
      pixelcnn = new Float32Array(k * size * size * test.channels);
      pixelcnn.set(drawn);
    } finally {
      fz.dispose();
    }
  }
  return { originals, recon, pixelcnn, samples, k };
}

/**
 * Runs the PixelCNN autoregressively conditioned on `fz` (the decoder mean at the aux resolution, IAF units;
 * docs/MODEL.md §1.5), or, for the PixelCNN alone, unconditionally on `fz` = a number of images: H*W raster
 * positions, each drawn for every image of the batch at once (DMOL sampler, no dropout; the caller chooses the
 * weights). The cached sampler (default; model/pixelcnn_cached.ts) recomputes after each pixel only the
 * activations it changes; `--sampler naive` runs a full network pass per pixel (the reference: same seed, same
 * images). Returns the images in 0..255.
 */
export async function samplePixelcnn(run: Run, fz: Tensor | number, streamBase: number, log: Logger, what: string): Promise<Float32Array> {
  const { engine, model, params, o } = run;
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

/** Nearest-neighbour upscaling of `count` NHWC uint8 images by an integer factor (grids readable at a glance). */
export function upscale(images: Uint8Array, count: number, h: number, w: number, c: number, f: number): Uint8Array {
  if (f === 1) return images;
  const out = new Uint8Array(count * h * f * w * f * c);
  for (let n = 0; n < count; n++)
    for (let y = 0; y < h * f; y++)
      for (let x = 0; x < w * f; x++) {
        const s = ((n * h + Math.floor(y / f)) * w + Math.floor(x / f)) * c;
        const d = ((n * h * f + y) * w * f + x) * c;
        for (let ch = 0; ch < c; ch++) out[d + ch] = images[s + ch]!;
      }
  return out;
}

/** Aux-resolution / grayscale images (float 0..255) brought to size x size x c for display. */
export function auxToDisplay(v: Float32Array, count: number, model: Agave, size: number, c: number): Uint8Array {
  const a = model.auxSize;
  const ac = model.auxChannels;
  const out = new Uint8Array(count * size * size * c);
  const f = size / a;
  for (let n = 0; n < count; n++)
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++)
        for (let ch = 0; ch < c; ch++) {
          const src = ((n * a + Math.floor(y / f)) * a + Math.floor(x / f)) * ac + (ac === 1 ? 0 : ch);
          out[((n * size + y) * size + x) * c + ch] = Math.max(0, Math.min(255, Math.round(v[src]!)));
        }
  return out;
}

/** Labelled rows of images, as the grids show them (uint8 NHWC, `cols` images of size x size x channels per row). */
export interface ImageRows {
  size: number;
  channels: number;
  cols: number;
  rows: { label: string; images: Uint8Array }[];
}

/** Saves rows beside their PNG as JSON (base64 pixels), so experiments can compose figures from finished runs. */
export function saveRows(path: string, r: ImageRows): void {
  const json = JSON.stringify({ ...r, rows: r.rows.map((x) => ({ label: x.label, images: Buffer.from(x.images).toString('base64') })) });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, json);
  renameSync(tmp, path);
}

export function loadRows(path: string): ImageRows {
  const j = JSON.parse(readFileSync(path, 'utf8')) as Omit<ImageRows, 'rows'> & { rows: { label: string; images: string }[] };
  return { ...j, rows: j.rows.map((x) => ({ label: x.label, images: new Uint8Array(Buffer.from(x.images, 'base64')) })) };
}

/** Writes rows of images (each row: `cols` images of size x size x c, uint8) with labels as one PNG, upscaled for small images. */
export function writeLabelledRows(path: string, rows: { label: string; images: Uint8Array }[], cols: number, size: number, c: number, jsonPath?: string): void {
  if (jsonPath) saveRows(jsonPath, { size, channels: c, cols, rows });
  const f = size <= 16 ? 4 : size <= 32 ? 2 : 1;
  const one = size * size * c;
  const all = new Uint8Array(rows.length * cols * one);
  rows.forEach((r, i) => all.set(r.images.subarray(0, cols * one), i * cols * one));
  const s = size * f;
  const g = imageGrid(upscale(all, rows.length * cols, size, size, c, f), rows.length * cols, s, s, c, cols, 2 * f, rows.map((r) => r.label), { fontScale: 2 });
  writePngAtomic(path, encodePng(g.pixels, g.width, g.height, g.channels));
}

function writeGrid(path: string, g: Grid, model: Agave, size: number, c: number): void {
  const rows: { label: string; images: Uint8Array }[] = [{ label: 'test x', images: g.originals }];
  if (g.recon) rows.push({ label: 'VAE f(z)', images: auxToDisplay(g.recon, g.k, model, size, c) });
  if (g.pixelcnn) rows.push({ label: model.kind === 'agave' ? 'PixelCNN on f(z)' : 'PixelCNN++ sample', images: Uint8Array.from(g.pixelcnn, (v) => Math.round(v)) });
  if (g.samples) rows.push({ label: 'VAE sample', images: auxToDisplay(g.samples, g.k, model, size, c) });
  writeLabelledRows(path, rows, g.k, size, c, join(dirname(path), 'grid-latest.json'));
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
  const { engine, model, params, o } = run;
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
  let a = seed >>> 0;
  const rand = (): number => {
    // mulberry32
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
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
  const { model, o } = run;
  const n = o.agaveSamples ?? 8;
  const t0 = performance.now();
  const S = model.cfg.imageSize;
  log(`drawing ${n} ${SAMPLE_KIND_WORDS[model.kind]} samples` + (model.kind === 'vae' ? '' : ` (${S * S} pixels each, ${o.sampler ?? 'cached'} sampler)`));
  const s = await modelSamples(run, n, log);
  const path = join(o.out, `${SAMPLE_FILES[model.kind]}.png`);
  writeLabelledRows(path, s.rows, n, model.cfg.imageSize, model.channels, join(o.out, `${SAMPLE_FILES[model.kind]}.json`));
  log(`${s.what} in ${formatDuration((performance.now() - t0) / 1000)}: ${path}`);
  return s.x;
}

