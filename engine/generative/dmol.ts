// Discretized logistic mixture (DMOL, PixelCNN++ output distribution; docs/MODEL.md §2.6 and §2.8).
// Layout NHWC: params [B, H, W, 10*M] for RGB (logits [0, M); colour slot c at M + 3M*c: means, raw
// log-scales, raw coeffs, M each) or [B, H, W, 3*M] for one channel (logits, means, raw log-scales); x [B, H, W, C]
// in [-1, 1], C = 3 or 1.
// Forward and gradient are fused (llm.c's fused classifier): one invocation per pixel computes log p(pixel) and,
// when params needs a gradient and the tape records, d log p(pixel) / d params into a per-pixel buffer the size
// of params (the GRAD override skips it otherwise). The backward rule only scales that buffer by the incoming
// gradient (one per image, or one per pixel for dmolLogProbPixels), in place, and hands it to the tape as the
// params gradient. x gets no gradient (data). The buffer lives in the scope of the forward call: run backward()
// inside that scope (as for every recorded op's saved tensors).
// Sampling (dmolSample) is not differentiable and draws its noise in-kernel from Philox (kinds in the shader).
import { KERNELS, streamWords } from '../kernels.js';
import { type Tensor, fmtShape } from '../tensor.js';
import { sum } from '../ops/index.js';

/** Largest mixture size the loss kernel supports (its private per-component array). */
export const DMOL_MAX_MIX = 32;

const groups = (n: number): number => Math.ceil(n / 256);

/** Channels per pixel (3 or 1) implied by the params' last dimension for nrMix components. */
function channelsOf(params: Tensor, nrMix: number, op: string): 1 | 3 {
  if (!Number.isInteger(nrMix) || nrMix < 1 || nrMix > DMOL_MAX_MIX) throw new Error(`${op}: nrMix must be an integer in [1, ${DMOL_MAX_MIX}], got ${nrMix}`);
  if (params.rank !== 4) throw new Error(`${op}: params must be [B, H, W, 10*M] or [B, H, W, 3*M], got ${fmtShape(params.shape)}`);
  const k = params.shape[3]!;
  if (k === 10 * nrMix) return 3;
  if (k === 3 * nrMix) return 1;
  throw new Error(`${op}: params ${fmtShape(params.shape)} has ${k} channels; nrMix ${nrMix} needs ${10 * nrMix} (RGB) or ${3 * nrMix} (1 channel)`);
}

function checkData(params: Tensor, x: Tensor, nrMix: number, op: string): 1 | 3 {
  if (x.engine !== params.engine) throw new Error(`${op}: params and x belong to different engines`);
  if (x.rank !== 4 || (x.shape[3] !== 1 && x.shape[3] !== 3)) throw new Error(`${op}: x must be [B, H, W, 3] or [B, H, W, 1], got ${fmtShape(x.shape)}`);
  const c = x.shape[3] === 3 ? 3 : 1;
  if (x.shape[0] !== params.shape[0] || x.shape[1] !== params.shape[1] || x.shape[2] !== params.shape[2]) {
    throw new Error(`${op}: x ${fmtShape(x.shape)} and params ${fmtShape(params.shape)} differ in [B, H, W]`);
  }
  const k = params.shape[3]!;
  if (k !== (c === 3 ? 10 : 3) * nrMix) {
    throw new Error(`${op}: params ${fmtShape(params.shape)} has ${k} channels; ${c}-channel x with nrMix ${nrMix} needs ${(c === 3 ? 10 : 3) * nrMix}`);
  }
  return c;
}

/**
 * Runs the fused kernel: per-pixel log p [B, H, W] and, if wanted, the per-pixel gradient [B, H, W, K]
 * (null otherwise).
 */
function dmolForward(params: Tensor, x: Tensor, nrMix: number, nc: 1 | 3, wantGrad: boolean, op: string): { logp: Tensor; grad: Tensor | null } {
  const e = params.engine;
  const [b, h, w] = params.shape as [number, number, number, number];
  const n = b * h * w;
  const logp = e.empty([b, h, w], op);
  const grad = wantGrad ? e.empty(params.shape, `${op}.grad`) : null;
  if (n > 0) {
    // The shader declares the gradient binding either way; without GRAD it is never touched.
    const dummy = grad ?? e.empty([4], `${op}.nograd`);
    e.dispatch({
      kernel: KERNELS.dmol_loss,
      overrides: { NR_MIX: nrMix, NC: nc, GRAD: wantGrad },
      params: { n },
      inputs: { theta: params, x },
      outputs: { logp, dtheta: dummy },
      workgroups: groups(n),
      label: op,
    });
    if (!grad) dummy.dispose('unused gradient binding');
  }
  return { logp, grad };
}

/**
 * dparams = g[pixel / group] * grad, in place in `grad` (the op's own per-pixel gradient buffer, which then
 * becomes the gradient handed to the tape: no second params-sized allocation).
 */
function scaleGradInPlace(g: Tensor, grad: Tensor, group: number, op: string): Tensor {
  const e = grad.engine;
  if (grad.size > 0) {
    e.dispatch({
      kernel: KERNELS.dmol_grad_scale,
      params: { n: grad.size, span: grad.shape[3]! * group },
      inputs: { g },
      outputs: { dtheta: grad },
      workgroups: groups(grad.size),
      label: `${op}.backward`,
    });
  }
  return grad;
}

/**
 * Per-image DMOL log-likelihood in nats, shape [B]: the sum over pixels and channels of log p (§2.6).
 * The loss of PixelCNN++ is the negative sum of this over the batch. Differentiable wrt params only.
 */
export function dmolLogLikelihood(params: Tensor, x: Tensor, nrMix: number): Tensor {
  const op = 'dmolLogLikelihood';
  const e = params.engine;
  const { logp, grad } = dmolPixels(params, x, nrMix, op);
  const ll = e.noGrad(() => sum(logp, [1, 2]));
  logp.dispose('reduced to the per-image sum');
  if (!grad) return ll;
  const [, h, w] = params.shape as [number, number, number, number];
  return e.tape.record(op, ll, [params, x], (g) => [scaleGradInPlace(g, grad, h * w, op), null]);
}

/** Per-pixel DMOL log-likelihood log p(pixel) in nats, shape [B, H, W] (summed over channels). Differentiable wrt params. */
export function dmolLogProbPixels(params: Tensor, x: Tensor, nrMix: number): Tensor {
  const op = 'dmolLogProbPixels';
  const { logp, grad } = dmolPixels(params, x, nrMix, op);
  if (!grad) return logp;
  return params.engine.tape.record(op, logp, [params, x], (g) => [scaleGradInPlace(g, grad, 1, op), null]);
}

/** The checked inputs' per-pixel log p [B, H, W], and d log p / d params when the tape records a gradient for params. */
function dmolPixels(params: Tensor, x: Tensor, nrMix: number, op: string): { logp: Tensor; grad: Tensor | null } {
  channelsOf(params, nrMix, op);
  const nc = checkData(params, x, nrMix, op);
  const wantGrad = params.requiresGrad && params.engine.tape.recording;
  return dmolForward(params, x, nrMix, nc, wantGrad, op);
}

export interface DmolSampleOptions {
  /** Philox key (non-negative safe integer, split into two u32). */
  seed: number;
  /** Philox stream (a non-negative safe integer). A pixel's noise also depends on its flat index, so one stream serves a whole raster scan. */
  stream: number;
  /** Sample only this raster position of every image of `canvas` (autoregressive sampling). */
  position?: { row: number; col: number };
  /** [B, H, W, C] tensor written in place (required with `position`; without it every pixel is written). */
  canvas?: Tensor;
}

/**
 * Draw from the DMOL (§2.8): Gumbel-max component choice, logistic noise, RGB coupling on the clipped samples,
 * values clipped to [-1, 1] (not rounded to the 8-bit grid). Without `position` every pixel is sampled into a
 * new [B, H, W, C] tensor (or into `canvas` if given); with `position` only (row, col) of each image of `canvas`
 * is written and `canvas` is returned. Not differentiable.
 */
export function dmolSample(params: Tensor, nrMix: number, opts: DmolSampleOptions): Tensor {
  const op = 'dmolSample';
  const e = params.engine;
  const nc = channelsOf(params, nrMix, op);
  const [b, h, w] = params.shape as [number, number, number, number];
  const { seed, stream } = opts;
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`${op}: seed must be a non-negative safe integer, got ${seed}`);
  const words = streamWords(stream, op);
  const canvas = opts.canvas;
  if (opts.position && !canvas) throw new Error(`${op}: position mode needs a canvas`);
  if (canvas) {
    if (canvas.engine !== e) throw new Error(`${op}: canvas and params belong to different engines`);
    const want = [b, h, w, nc];
    if (canvas.rank !== 4 || canvas.shape.some((d, i) => d !== want[i])) throw new Error(`${op}: canvas ${fmtShape(canvas.shape)} must be ${fmtShape(want)} for params ${fmtShape(params.shape)}`);
  }
  let stride = 1;
  let pos = 0;
  let n = b * h * w;
  if (opts.position) {
    const { row, col } = opts.position;
    if (!Number.isInteger(row) || !Number.isInteger(col) || row < 0 || row >= h || col < 0 || col >= w) {
      throw new Error(`${op}: position (${row}, ${col}) is outside the ${h}x${w} image`);
    }
    stride = h * w;
    pos = row * w + col;
    n = b;
  }
  const out = canvas ?? e.empty([b, h, w, nc], op);
  if (n > 0) {
    e.dispatch({
      kernel: KERNELS.dmol_sample,
      overrides: { NR_MIX: nrMix, NC: nc },
      params: { n, stride, pos, ...words, key0: seed % 0x100000000, key1: Math.floor(seed / 0x100000000) },
      inputs: { theta: params },
      outputs: { canvas: out },
      workgroups: groups(n),
      label: op,
    });
  }
  return out;
}
