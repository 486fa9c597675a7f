// Evaluation of a run (EMA weights, no dropout): the bits/dim of the paper (the single-sample bound
// -log p(x|z) + KL with lambda = 1 and the true KL, and optionally the importance-weighted bound), and what
// shows whether the VAE is alive: the auxiliary NLL, the KL, the latent channels in use and the PSNR of the
// VAE's reconstruction f(z) against the auxiliary target y. Also the PNG grids and the autoregressive
// PixelCNN sampler (z from the prior for AGAVE samples, or f(z) of test images for PixelCNN reconstructions).
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ops, type Tensor } from '../engine/index.js';
import { Agave, Ctx, toPixels } from '../model/agave.js';
import { gatherBatch } from './data.js';
import { appendJsonl, bitsPerDim, formatDuration } from './metrics.js';
import { encodePng, imageGrid, writePngAtomic } from './png.js';
import type { Run } from './setup.js';
import type { EvalRecord, Logger } from './trainer.js';

/** A latent channel counts as active when its KL exceeds this many nats per image (summed over positions). */
export const ACTIVE_KL_NATS = 0.01;

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

export async function evaluate(run: Run, step: number, log: Logger, opt: EvalOptions): Promise<EvalRecord> {
  const { engine, model, params, testSet: test, o, r } = run;
  const size = model.cfg.imageSize;
  const c = test.channels;
  const n = Math.min(o.evalImages, test.count);
  const batch = r.batch;
  const iw = opt.iw;
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
          const ctx = new Ctx(engine, params, false, false, { p: 0, seed: o.seed }, 0x80000000 + s + k * 0x100000);
          return engine.noGrad(() => {
            const t = model.loss(ctx, x, { lambda: 1, phase: 'joint', useAux: true });
            const parts = [t.perImage.pixelcnnNll!, t.perImage.kl, ops.reshape(t.auxNll, [1])];
            if (k === 0) {
              // Squared error of f(z) (pixels) against the centre of y's bin, and the KL per latent channel.
              const fzPixels = ops.mulScalar(ops.addScalar(t.auxMean, 0.5), 256);
              const centre = ops.addScalar(t.auxTarget, (levelWidth - 1) / 2);
              parts.push(ops.reshape(ops.sum(ops.square(ops.sub(fzPixels, centre))), [1]));
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
      for (let i = 0; i < m; i++) {
        const ws = logw.map((l) => l[i]!);
        const mx = Math.max(...ws);
        iwNats += -(mx + Math.log(ws.reduce((a, w) => a + Math.exp(w - mx), 0)) - Math.log(iw));
      }
      counted += m;
    }
    return drawGrid(run, opt.pixelcnnRecon, log);
  });
  const perChannel = channelKl ? [...(channelKl as Float64Array)].map((v) => v / counted) : [];
  const rec: EvalRecord = {
    step,
    testBitsPerDim: bitsPerDim((pc + kl) / counted, model.dims),
    pixelcnn: bitsPerDim(pc / counted, model.dims),
    kl: bitsPerDim(kl / counted, model.dims),
    aux: bitsPerDim(aux / counted, model.auxDims),
    psnr: psnr(sqErr / sqCount),
    activeLatents: perChannel.filter((v) => v > ACTIVE_KL_NATS).length,
    latentChannels: perChannel.length,
    images: counted,
  };
  if (iw > 1) {
    rec.iwBitsPerDim = bitsPerDim(iwNats / counted, model.dims);
    rec.iwSamples = iw;
  }
  appendJsonl(run.paths.metrics, { type: 'eval', ...rec });
  const png = join(o.out, `samples-step${String(step).padStart(6, '0')}.png`);
  writeGrid(png, grid, model, size, c);
  log(
    `eval @ step ${step}: test ${rec.testBitsPerDim.toFixed(3)} bits/dim (pixelcnn ${rec.pixelcnn.toFixed(3)} + kl ${rec.kl.toFixed(4)}) | ` +
      `VAE: aux ${rec.aux.toFixed(3)} bits/dim, recon PSNR ${rec.psnr.toFixed(1)} dB, ${rec.activeLatents}/${rec.latentChannels} latent channels active | ` +
      `${rec.iwBitsPerDim !== undefined ? `importance-weighted (K=${iw}) ${rec.iwBitsPerDim.toFixed(3)} | ` : ''}${counted} images, EMA weights, ${((performance.now() - t0) / 1000).toFixed(1)} s; grid ${png}`,
  );
  return rec;
}

interface Grid {
  originals: Uint8Array;
  recon: Float32Array;
  /** PixelCNN samples conditioned on the f(z) of the first test images (0..255, image size), or null. */
  pixelcnn: Float32Array | null;
  samples: Float32Array;
  k: number;
}

/** The grid's images: 8 test images, their VAE reconstructions f(z), optionally PixelCNN samples given those f(z), and 8 VAE samples. */
async function drawGrid(run: Run, pixelcnnRecon: number, log: Logger): Promise<Grid> {
  const { engine, model, params, testSet: test, o } = run;
  const size = model.cfg.imageSize;
  const k = Math.min(8, test.count);
  const idx = Array.from({ length: k }, (_, i) => i);
  const originals = gatherBatch(test, idx);
  const { recon, samples } = await engine.asyncScope(async () => {
    const x = engine.tensor(originals, [k, size, size, test.channels]);
    const ctx = new Ctx(engine, params, false, false, { p: 0, seed: o.seed }, 0x90000000);
    return { recon: await engine.noGrad(() => model.reconstruct(ctx, x)).read(), samples: await engine.noGrad(() => model.sampleVae(ctx, k)).read() };
  });
  let pixelcnn: Float32Array | null = null;
  const nr = Math.min(pixelcnnRecon, k);
  if (nr > 0) {
    const fz = engine.noGrad(() => {
      const x = engine.tensor(gatherBatch(test, idx.slice(0, nr)), [nr, size, size, test.channels]);
      const ctx = new Ctx(engine, params, false, false, { p: 0, seed: o.seed }, 0x98000000);
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
 * MODEL_SPEC §1.5): H*W network passes, each writing one raster position of every image (DMOL sampler, no
 * dropout; the caller chooses the weights). Returns the images in 0..255.
 */
export async function samplePixelcnn(run: Run, fz: Tensor, streamBase: number, log: Logger, what: string): Promise<Float32Array> {
  const { engine, model, params, o } = run;
  const S = model.cfg.imageSize;
  const n = fz.shape[0]!;
  const t0 = performance.now();
  // A frozen context: effective weights and the conditioning stream are computed on the first pass only.
  const ctx = new Ctx(engine, params, false, false, { p: 0, seed: o.seed }, streamBase).freeze();
  const cond = engine.noGrad(() => model.conditioning(fz)).keep();
  const canvas = engine.zeros([n, S, S, model.channels]).keep();
  const d0 = engine.runner.dispatchCount;
  try {
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
      if (row % 8 === 7 || row === S - 1) {
        const el = (performance.now() - t0) / 1000;
        const perPass = Math.round((engine.runner.dispatchCount - d0) / ((row + 1) * S));
        log(`${what}: row ${row + 1}/${S}, ${((row + 1) / el).toFixed(2)} rows/s (${perPass} dispatches per pass), ETA ${formatDuration((el / (row + 1)) * (S - row - 1))}`);
      }
    }
    return await engine.noGrad(() => ops.clamp(ops.mulScalar(ops.addScalar(canvas, 1), 127.5), 0, 255)).read();
  } finally {
    ctx.releaseFrozen();
    cond.dispose();
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
  const rows: { label: string; images: Uint8Array }[] = [
    { label: 'test x', images: g.originals },
    { label: 'VAE f(z)', images: auxToDisplay(g.recon, g.k, model, size, c) },
  ];
  if (g.pixelcnn) rows.push({ label: 'PixelCNN on f(z)', images: Uint8Array.from(g.pixelcnn, (v) => Math.round(v)) });
  rows.push({ label: 'VAE sample', images: auxToDisplay(g.samples, g.k, model, size, c) });
  writeLabelledRows(path, rows, g.k, size, c, join(dirname(path), 'grid-latest.json'));
}

/**
 * AGAVE samples (MODEL_SPEC §1.5): z from the IAF-VAE prior, f(z) the decoder mean (not a sample of y), then the
 * PixelCNN run autoregressively conditioned on f(z) (EMA weights, no dropout). Writes agave-samples.png: f(z)
 * above its samples x.
 */
export async function sampleAgave(run: Run, log: Logger): Promise<Float32Array> {
  const { engine, model, params, o } = run;
  const n = o.agaveSamples ?? 8;
  const S = model.cfg.imageSize;
  const C = model.channels;
  const t0 = performance.now();
  const out = await params.withEma(async () => {
    const ctx = new Ctx(engine, params, false, false, { p: 0, seed: o.seed }, 0xa0000000);
    const fz = engine.noGrad(() => model.auxMean(model.vae.sample(ctx, n))).keep();
    try {
      const x = await samplePixelcnn(run, fz, 0xa1000000, log, 'AGAVE sampling');
      const f = await engine.noGrad(() => toPixels(fz)).read();
      return { x, f };
    } finally {
      fz.dispose();
    }
  });
  const path = join(o.out, 'agave-samples.png');
  writeLabelledRows(path, [
    { label: 'VAE f(z)', images: auxToDisplay(out.f, n, model, S, C) },
    { label: 'AGAVE x', images: Uint8Array.from(out.x, (v) => Math.round(v)) },
  ], n, S, C, join(o.out, 'agave-samples.json'));
  log(`${n} AGAVE samples (${S * S} PixelCNN passes) in ${formatDuration((performance.now() - t0) / 1000)}: ${path}`);
  return out.x;
}
