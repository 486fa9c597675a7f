// Diagonal-Gaussian ops of the IAF-VAE (docs/MODEL.md §3.4, §3.8), elementwise over same-shape tensors, each a
// fused kernel forward and a fused kernel backward:
//   gaussianSample(mean, logStd, eps)        z = mean + exp(logStd) * eps     (reparameterised; eps from engine.normal)
//   gaussianLogDensity(z, mean, logStd)      log N(z; mean, exp(logStd)^2) = -0.5 (log 2pi + 2 logStd + (z - mean)^2 / exp(2 logStd))
//   gaussianKL(meanQ, logStdQ, meanP, logStdP)   analytic KL(q || p), stable when q ~ p (shaders/gaussian_kl.wgsl)
// and the free-bits objective of one stochastic layer:
//   freeBitsKL(klElem [B,H,W,Z], lambdaFb) -> { objective: sum_c max(mean_b sum_{h,w} kl[b,h,w,c], lambdaFb) (scalar),
//                                               trueKL: sum_{h,w,c} kl[b,h,w,c] per image [B] }
// freeBitsKL is fused: one pass over kl gives per-(image, chunk) channel and image partial sums, one small
// kernel applies the floor; the backward passes the gradient only to channels strictly above the floor. The IAF-VAE's KL is the Monte-Carlo log-ratio log q - log p (code
// form, §3.4 item 7): build klElem from gaussianLogDensity (+ the IAF log-det); gaussianKL is the analytic
// alternative (e.g. for a layer without IAF, or for tests).
import { KERNELS } from '../kernels.js';
import { GAUSSIAN3_CODES } from '../op_codes.js';
import { type Tensor, fmtShape } from '../tensor.js';

const groups = (n: number): number => Math.ceil(n / 256);

function sameShapes(op: string, ts: readonly Tensor[]): void {
  const s = ts[0]!.shape;
  for (const t of ts) {
    if (t.engine !== ts[0]!.engine) throw new Error(`${op}: tensors belong to different engines`);
    if (t.rank !== s.length || t.shape.some((d, i) => d !== s[i])) {
      throw new Error(`${op}: all inputs must have the same shape (broadcastTo first), got ${ts.map((x) => fmtShape(x.shape)).join(', ')}`);
    }
  }
}

/** Gradients the caller needs: dispose the others and return null for them. */
function needed(inputs: readonly Tensor[], grads: Tensor[]): (Tensor | null)[] {
  return grads.map((g, i) => {
    if (inputs[i]!.requiresGrad) return g;
    g.dispose('gradient not needed');
    return null;
  });
}

function gaussian3(op: string, code: number, a: Tensor, b: Tensor, c: Tensor): Tensor {
  sameShapes(op, [a, b, c]);
  const e = a.engine;
  const n = a.size;
  const y = e.empty(a.shape, op);
  if (n > 0) e.dispatch({ kernel: KERNELS.gaussian3, overrides: { OP: code }, params: { n }, inputs: { a, b, c }, outputs: { y }, workgroups: groups(n), label: op });
  return e.tape.record(op, y, [a, b, c], (g) => {
    const da = e.empty(a.shape, `${op}.backward`);
    const db = e.empty(a.shape, `${op}.backward`);
    const dc = e.empty(a.shape, `${op}.backward`);
    if (n > 0) {
      e.dispatch({ kernel: KERNELS.gaussian3_backward, overrides: { OP: code }, params: { n }, inputs: { a, b, c, g }, outputs: { da, db, dc }, workgroups: groups(n), label: `${op}.backward` });
    }
    return needed([a, b, c], [da, db, dc]);
  });
}

/** z = mean + exp(logStd) * eps (same shapes). Differentiable in mean and logStd (and eps if it requires grad). */
export function gaussianSample(mean: Tensor, logStd: Tensor, eps: Tensor): Tensor {
  return gaussian3('gaussianSample', GAUSSIAN3_CODES.sample, mean, logStd, eps);
}

/** Elementwise log N(z; mean, exp(logStd)^2) (same shapes). Differentiable in all three. */
export function gaussianLogDensity(z: Tensor, mean: Tensor, logStd: Tensor): Tensor {
  return gaussian3('gaussianLogDensity', GAUSSIAN3_CODES.logDensity, z, mean, logStd);
}

/** Elementwise analytic KL( N(meanQ, exp(logStdQ)^2) || N(meanP, exp(logStdP)^2) ) (same shapes). Differentiable in all four. */
export function gaussianKL(meanQ: Tensor, logStdQ: Tensor, meanP: Tensor, logStdP: Tensor): Tensor {
  const op = 'gaussianKL';
  sameShapes(op, [meanQ, logStdQ, meanP, logStdP]);
  const e = meanQ.engine;
  const n = meanQ.size;
  const inputs = { mean_q: meanQ, log_std_q: logStdQ, mean_p: meanP, log_std_p: logStdP };
  const y = e.empty(meanQ.shape, op);
  if (n > 0) e.dispatch({ kernel: KERNELS.gaussian_kl, params: { n }, inputs, outputs: { y }, workgroups: groups(n), label: op });
  return e.tape.record(op, y, [meanQ, logStdQ, meanP, logStdP], (g) => {
    const outs = [0, 1, 2, 3].map(() => e.empty(meanQ.shape, `${op}.backward`)) as [Tensor, Tensor, Tensor, Tensor];
    if (n > 0) {
      // Two passes (means, then log-stds): one pass writing all four would bind 9 storage buffers (limit 8).
      for (const [mode, dq, dp] of [[0, outs[0], outs[2]], [1, outs[1], outs[3]]] as const) {
        e.dispatch({
          kernel: KERNELS.gaussian_kl_backward,
          overrides: { MODE: mode },
          params: { n },
          inputs: { ...inputs, g },
          outputs: { d_q: dq, d_p: dp },
          workgroups: groups(n),
          label: `${op}.backward`,
        });
      }
    }
    return needed([meanQ, logStdQ, meanP, logStdP], outs);
  });
}

export interface FreeBitsResult {
  /** scalar []: sum over channels c of max(mean over the batch of sum over (h, w) of kl[b,h,w,c], lambdaFb) */
  objective: Tensor;
  /** [B]: the true KL of each image, sum over (h, w, c) of kl[b,h,w,c] (what the reported bound uses) */
  trueKL: Tensor;
  /**
   * [Z]: the per-channel batch-mean KL (before the floor); not differentiable, for logging (active units).
   * The objective's backward reads it: keep it alive until backward() if you differentiate the objective.
   */
  channelKL: Tensor;
}

/** Elements per thread of the stats kernel (must match ITEMS in shaders/free_bits_stats.wgsl). */
const FB_ITEMS = 8;

/**
 * Free bits of one stochastic layer (docs/MODEL.md §3.8, IAF paper Eq. 15, tf_train.py): one group per channel
 * (feature map), averaged over the batch, floored at lambdaFb. The objective is the same for every example;
 * minimise (the KL part of) the training loss with `objective` (times lambda, for AGAVE) and report `trueKL`.
 * Channels whose batch-mean KL is at or below the floor get zero gradient. Two fused kernels forward (one read
 * of kl for channel and image sums; one small workgroup for the floor), one elementwise kernel backward.
 */
export function freeBitsKL(klElem: Tensor, lambdaFb: number): FreeBitsResult {
  const op = 'freeBitsKL';
  if (klElem.rank !== 4) throw new Error(`${op}: klElem must be [B,H,W,Z], got ${fmtShape(klElem.shape)}`);
  if (!(lambdaFb >= 0) || !Number.isFinite(lambdaFb)) throw new Error(`${op}: lambdaFb must be finite and >= 0, got ${lambdaFb}`);
  const e = klElem.engine;
  const [B, H, W, Z] = klElem.shape as [number, number, number, number];
  if (B < 1 || B > 65535) throw new Error(`${op}: batch must be in 1..65535, got ${B}`);
  if (Z < 1 || Z > 256) throw new Error(`${op}: needs 1 <= Z <= 256 channels, got ${fmtShape(klElem.shape)}`);
  const n = H * W * Z;
  const active = Math.floor(256 / Z) * Z;
  const chunks = Math.max(1, Math.ceil(n / (active * FB_ITEMS)));
  if (chunks > 65535) throw new Error(`${op}: ${fmtShape(klElem.shape)} is too large`);
  const alloc = (shape: number[]): Tensor => (n > 0 ? e.empty(shape, `${op}.partial`) : e.zeros(shape));
  const chanPartial = alloc([B * chunks, Z]);
  const imgPartial = alloc([B * chunks]);
  if (n > 0) {
    e.dispatch({
      kernel: KERNELS.free_bits_stats, params: { n_per_image: n, channels: Z, n_active: active, chunks },
      inputs: { kl: klElem }, outputs: { chan_partial: chanPartial, img_partial: imgPartial }, workgroups: [chunks, B, 1], label: op,
    });
  }
  const objective = e.empty([], op);
  const trueKL = e.empty([B], `${op}.trueKL`);
  const channelKL = e.empty([Z], `${op}.channelKL`);
  e.dispatch({
    kernel: KERNELS.free_bits, params: { channels: Z, parts: B * chunks, batch: B, chunks, kl_min: lambdaFb },
    inputs: { chan_partial: chanPartial, img_partial: imgPartial }, outputs: { objective, true_kl: trueKL, channel_kl: channelKL }, workgroups: 1, label: op,
  });
  chanPartial.dispose();
  imgPartial.dispose();
  const params = { n: klElem.size, channels: Z, per_image: Math.max(n, 1), kl_min: lambdaFb, inv_batch: 1 / B };
  const grad = (mode: number, g: Tensor): Tensor => {
    const dkl = e.empty(klElem.shape, `${op}.backward`);
    if (dkl.size > 0) {
      e.dispatch({ kernel: KERNELS.free_bits_backward, overrides: { MODE: mode }, params, inputs: { channel_kl: channelKL, g }, outputs: { dkl }, workgroups: Math.ceil(dkl.size / 256), label: `${op}.backward` });
    }
    return dkl;
  };
  return {
    objective: e.tape.record(op, objective, [klElem], (g) => [grad(0, g)]),
    trueKL: e.tape.record(`${op}.trueKL`, trueKL, [klElem], (g) => [grad(1, g)]),
    channelKL,
  };
}
