// Evaluation of a run (EMA weights, no dropout): the bits/dim of the paper (the single-sample bound
// -log p(x|z) + KL with lambda = 1 and the true KL, and optionally the importance-weighted bound), and what
// shows whether the VAE is alive: the auxiliary NLL, the KL, the latent channels in use and the PSNR of the
// VAE's reconstruction f(z) against the auxiliary target y; and the evaluation's PNG grid. Sampling is
// sampling.ts, the image rows of grids and figures images.ts.
// The baselines (model/agave.ts kinds): PixelCNN++ alone is evaluated by its exact likelihood (no KL, no
// importance sampling: it has no latents); the IAF-VAE alone by -log p(x|z) + KL of its decoder on x, single
// sample and importance-weighted, as AGAVE.
import { ops } from '../../engine/index.js';
import { Agave, Ctx, pixelsOf } from '../../model/agave.js';
import { gatherBatch } from '../data/image-sets.js';
import { bitsPerDim } from '../common/units.js';
import type { Run } from '../step/run.js';
import type { EvalRecord, Logger } from '../types.js';
import { auxToDisplay, type ImageRow, type ImageRows } from './rows.js';
import { samplePixelcnn } from './sampling.js';

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

/**
 * An evaluation in one line, as the log and a page show it: `test 5.430 bits/dim (pixelcnn 5.325 + kl 0.1041) |
 * VAE: aux 7.081 bits/dim, recon PSNR 18.2 dB, 8/8 latent channels active` (and the importance-weighted bound).
 */
export function evalSummary(rec: EvalRecord, kind: Agave['kind']): string {
  const f = (v: number | null, d: number): string => (v === null ? '-' : v.toFixed(d));
  const terms =
    kind === 'pixelcnn'
      ? '(PixelCNN++ alone: exact -log p(x))'
      : kind === 'vae'
        ? `(-log p(x|z) ${f(rec.aux, 3)} + kl ${rec.kl.toFixed(4)})`
        : `(pixelcnn ${f(rec.pixelcnn, 3)} + kl ${rec.kl.toFixed(4)})`;
  const vaeStats = kind === 'pixelcnn'
    ? ''
    : ` | VAE: ${kind === 'agave' ? `aux ${f(rec.aux, 3)} bits/dim, ` : ''}recon PSNR ${f(rec.psnr, 1)} dB, ${rec.activeLatents}/${rec.latentChannels} latent channels active`;
  const iw = rec.iwBitsPerDim !== undefined ? ` | importance-weighted (K=${rec.iwSamples}) ${rec.iwBitsPerDim.toFixed(3)}` : '';
  return `test ${rec.testBitsPerDim.toFixed(3)} bits/dim ${terms}${vaeStats}${iw}`;
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
  const { engine, model, params, testSet: test, options: o, recipe: r } = run;
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
  const gridName = `samples-step${String(step).padStart(6, '0')}`;
  const png = run.store.rowsPath(gridName);
  // Data-parallel ranks all evaluate (identically, in step); rank 0 alone writes (train/distributed/).
  if (o.dataParallel?.writes ?? true) {
    run.store.appendRecord({ type: 'eval', ...rec });
    run.store.writeImageRows(gridName, gridRows(grid, model, size, c), 'grid-latest');
  }
  log(
    `eval @ step ${step}: ${evalSummary(rec, model.kind)} | ` +
      `${counted} images, EMA weights, ${((performance.now() - t0) / 1000).toFixed(1)} s; grid ${png}`,
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
  const { engine, model, params, testSet: test, options: o } = run;
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

/** The grid's labelled rows: test x, VAE f(z), PixelCNN on f(z) (or PixelCNN++ samples), VAE samples. */
function gridRows(g: Grid, model: Agave, size: number, c: number): ImageRows {
  const rows: ImageRow[] = [{ label: 'test x', images: g.originals }];
  if (g.recon) rows.push({ label: 'VAE f(z)', images: auxToDisplay(g.recon, g.k, model, size, c) });
  if (g.pixelcnn) rows.push({ label: model.kind === 'agave' ? 'PixelCNN on f(z)' : 'PixelCNN++ sample', images: Uint8Array.from(g.pixelcnn, (v) => Math.round(v)) });
  if (g.samples) rows.push({ label: 'VAE sample', images: auxToDisplay(g.samples, g.k, model, size, c) });
  return { size, channels: c, cols: g.k, rows };
}
