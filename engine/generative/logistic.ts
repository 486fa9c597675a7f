// K-level discretized logistic log-likelihood of the AGAVE auxiliary image (docs/MODEL.md §1.3, Eq. 10 of the
// published paper / Eq. 8 of the OpenReview version; for K = 256 the IAF-VAE output likelihood of §3.7).
//
//   c = 256 / K, k = floor(y / c) (clamped to 0..K-1), lower = c k / 256 - 0.5, width = c / 256,
//   log p(y | mu, s) = log( sigmoid((lower + width - mu) / s) - sigmoid((lower - mu) / s) + 1e-7 ),
//   s = exp(logScale[channel]), one learned log-scale per channel shared over all pixels,
//   result[b] = sum over (h, w, c) of log p   (nats per image; the ELBO's reconstruction term).
//
// Fused kernels: shaders/logistic.wgsl (forward, a per-(image, chunk) partial sum) and
// shaders/logistic_backward.wgsl (dmean per element and per-workgroup, per-channel partials of dlogScale).
// The CDF difference is formed without subtracting two sigmoids (see the shader header) and the backward
// uses exact rewrites of dD/(D + 1e-7) that stay finite for tiny scales (pitfall 4/5 of docs/MODEL.md §6).
import { KERNELS } from '../kernels.js';
import { type Tensor, fmtShape } from '../tensor.js';
import { sum } from '../ops/index.js';

/** Elements per thread in the fused kernels (must match ITEMS in the shaders). */
const ITEMS = 8;

export interface LogisticOptions {
  /**
   * false (default): the paper / IAF-code form, no tails: mass below bin 0 and above bin K-1 is lost
   * (sub-normalised). true: the lower edge of bin 0 is -inf and the upper edge of bin K-1 is +inf, so the K
   * bin probabilities sum to 1 (the PixelCNN++ edge trick). The +1e-7 inside the log is kept in both forms.
   */
  tails?: boolean;
}

/** Throws unless K is a positive divisor of 256 (1, 2, 4, ..., 256). */
export function checkLevels(levels: number, op: string): void {
  if (!Number.isInteger(levels) || levels < 1 || levels > 256 || 256 % levels !== 0) {
    throw new Error(`${op}: levels K must be a divisor of 256 (256, 128, ..., 2, 1), got ${levels}`);
  }
}

/**
 * Per-image log-likelihood [B] (nats) of the pixel values `y` (0..255 as floats, [B,H,W,C]) under a K-level
 * discretized logistic with per-pixel means `mean` ([B,H,W,C], IAF units, data range (-0.5, 0.5)) and
 * per-channel log-scales `logScale` ([C]). Differentiable in `mean` and `logScale` (summed over batch and
 * pixels); `y` is data and gets no gradient. The caller clamps the mean to the data range if it wants to
 * (the IAF head does); log-scales are not clamped here.
 */
export function discretizedLogisticLogLikelihood(mean: Tensor, logScale: Tensor, y: Tensor, levels: number, opts: LogisticOptions = {}): Tensor {
  const op = 'discretizedLogisticLogLikelihood';
  const e = mean.engine;
  checkLevels(levels, op);
  if (mean.rank !== 4) throw new Error(`${op}: mean must be [B,H,W,C], got ${fmtShape(mean.shape)}`);
  if (y.rank !== 4 || y.shape.some((d, i) => d !== mean.shape[i])) throw new Error(`${op}: y ${fmtShape(y.shape)} must have the shape of mean ${fmtShape(mean.shape)}`);
  const [B, H, W, C] = mean.shape as [number, number, number, number];
  if (logScale.rank !== 1 || logScale.shape[0] !== C) throw new Error(`${op}: logScale must be [${C}] (one per channel), got ${fmtShape(logScale.shape)}`);
  if (C < 1 || C > 256) throw new Error(`${op}: needs 1 <= C <= 256 channels, got ${C}`);
  if (B > 65535) throw new Error(`${op}: batch ${B} exceeds 65535`);
  const n = H * W * C;
  const active = Math.floor(256 / C) * C;
  const chunks = Math.max(1, Math.ceil(n / (active * ITEMS)));
  if (chunks > 65535) throw new Error(`${op}: image of ${n} elements is too large`);
  const tails = opts.tails ?? false;
  const params = { n_per_image: n, channels: C, n_active: active, chunks, levels, cw: 256 / levels / 256 };
  const overrides = { TAILS: tails };

  const partial = e.empty([B, chunks], `${op}.partial`);
  if (B > 0 && n > 0) {
    e.dispatch({ kernel: KERNELS.logistic, overrides, params, inputs: { mean, log_scale: logScale, pixels: y }, outputs: { partial }, workgroups: [chunks, B, 1], label: op });
  } else if (B > 0) {
    partial.dispose();
    return recordLL(e.zeros([B]));
  }
  let out: Tensor;
  if (chunks === 1) {
    out = e.view(partial, [B], op);
  } else {
    out = e.noGrad(() => sum(partial, 1));
  }
  partial.dispose();
  return recordLL(out);

  function recordLL(ll: Tensor): Tensor {
    return e.tape.record(op, ll, [mean, logScale], (g) => {
      const dmean = e.empty(mean.shape, `${op}.backward`);
      const dpart = e.empty([B * chunks, C], `${op}.backward.partial`);
      if (B > 0 && n > 0) {
        e.dispatch({
          kernel: KERNELS.logistic_backward,
          overrides,
          params,
          inputs: { mean, log_scale: logScale, pixels: y, g },
          outputs: { dmean, partial: dpart },
          workgroups: [chunks, B, 1],
          label: `${op}.backward`,
        });
      }
      let dls: Tensor | null = null;
      if (logScale.requiresGrad) dls = B * n > 0 ? sum(dpart, 0) : e.zeros([C]);
      dpart.dispose();
      if (!mean.requiresGrad) {
        dmean.dispose();
        return [null, dls];
      }
      return [dmean, dls];
    });
  }
}

/** Bits per dimension of a per-image log-likelihood in nats: -ll / (dims * ln 2). */
export function bitsPerDim(llNats: number, dims: number): number {
  return -llNats / (dims * Math.LN2);
}
