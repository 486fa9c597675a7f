// The IAF step of the IAF-VAE in the code form (MODEL_SPEC §3.4 item 7, §3.5), the form of the released
// openai/iaf code that produced the reported 3.11 / 3.15 bpd:
//   (m, s) = AR-NN(z, context), rescaled by 0.1;  z' = (z - 0.1 m) / exp(0.1 s);  log q += 0.1 s.
// iafStep(z, m, s) -> { z: z', logDet: 0.1 s } (elementwise; add logDet to the elementwise log q). The paper's
// LSTM-type form (sigmoid gate, Alg. 1) is equivalent up to reparameterisation; the paper reports
// location-only vs location+scale as nearly equal, so the code form is used because it matches the results.
// The AR-NN's masked convolutions live with the convolution ops; arChannelMask builds the centre-tap channel
// mask they need (§3.5).
import type { KernelSource } from '../runner.js';
import { type Tensor, fmtShape } from '../tensor.js';
import { mulScalar } from './elementwise.js';
import iafSrc from '../../shaders/iaf.wgsl';
import iafBackwardSrc from '../../shaders/iaf_backward.wgsl';

export const IAF_KERNELS = {
  iaf: { name: 'iaf', code: iafSrc } as KernelSource,
  iaf_backward: { name: 'iaf_backward', code: iafBackwardSrc } as KernelSource,
};

/** The factor the code form applies to the AR-NN outputs m and s. */
export const IAF_SCALE = 0.1;

export interface IafStepResult {
  /** z' = (z - 0.1 m) / exp(0.1 s), same shape as z */
  z: Tensor;
  /** 0.1 s elementwise: log q(z') = log q(z) + logDet (the log|det dz/dz'|, i.e. minus log|det dz'/dz|) */
  logDet: Tensor;
}

/** One IAF step, code form. z, m, s of the same shape; both outputs differentiable in z, m, s. */
export function iafStep(z: Tensor, m: Tensor, s: Tensor): IafStepResult {
  const op = 'iafStep';
  for (const t of [m, s]) {
    if (t.rank !== z.rank || t.shape.some((d, i) => d !== z.shape[i])) throw new Error(`${op}: z ${fmtShape(z.shape)}, m ${fmtShape(m.shape)} and s ${fmtShape(s.shape)} must have the same shape`);
  }
  const e = z.engine;
  const n = z.size;
  const zOut = e.empty(z.shape, op);
  const logDet = e.empty(z.shape, `${op}.logDet`);
  const wg = Math.ceil(n / 256);
  if (n > 0) e.dispatch({ kernel: IAF_KERNELS.iaf, params: { n }, inputs: { z, m, s }, outputs: { z_out: zOut, log_det: logDet }, workgroups: wg, label: op });
  const outZ = e.tape.record(op, zOut, [z, m, s], (g) => {
    const dz = e.empty(z.shape, `${op}.backward`);
    const dm = e.empty(z.shape, `${op}.backward`);
    const ds = e.empty(z.shape, `${op}.backward`);
    if (n > 0) e.dispatch({ kernel: IAF_KERNELS.iaf_backward, params: { n }, inputs: { z, m, s, g }, outputs: { dz, dm, ds }, workgroups: wg, label: `${op}.backward` });
    return [dz, dm, ds].map((d, i) => {
      if ([z, m, s][i]!.requiresGrad) return d;
      d.dispose('gradient not needed');
      return null;
    });
  });
  const outLd = e.tape.record(`${op}.logDet`, logDet, [s], (g) => [mulScalar(g, IAF_SCALE)]);
  return { z: outZ, logDet: outLd };
}

/**
 * Channel mask M [nIn, nOut] (row-major, M[i * nOut + j]: input channel i -> output channel j) of the centre
 * tap of an autoregressive conv (MODEL_SPEC §3.5):
 * - nOut >= nIn, k = nOut / nIn: output j (block floor(j / k)) sees inputs i <= floor(j / k), or
 *   i < floor(j / k) when zeroDiagonal;
 * - nOut < nIn, k = nIn / nOut: output j sees inputs i < (j + 1) k, or i < j k when zeroDiagonal.
 * Requires the larger of nIn, nOut to be a multiple of the smaller.
 */
export function arChannelMask(nIn: number, nOut: number, zeroDiagonal: boolean): Float32Array {
  if (!Number.isInteger(nIn) || !Number.isInteger(nOut) || nIn < 1 || nOut < 1) throw new Error(`arChannelMask: channel counts must be positive integers, got ${nIn}, ${nOut}`);
  const M = new Float32Array(nIn * nOut);
  if (nOut >= nIn) {
    if (nOut % nIn !== 0) throw new Error(`arChannelMask: nOut ${nOut} must be a multiple of nIn ${nIn}`);
    const k = nOut / nIn;
    for (let i = 0; i < nIn; i++)
      for (let j = 0; j < nOut; j++) {
        const block = Math.floor(j / k);
        if (zeroDiagonal ? i < block : i <= block) M[i * nOut + j] = 1;
      }
  } else {
    if (nIn % nOut !== 0) throw new Error(`arChannelMask: nIn ${nIn} must be a multiple of nOut ${nOut}`);
    const k = nIn / nOut;
    for (let i = 0; i < nIn; i++)
      for (let j = 0; j < nOut; j++) {
        if (zeroDiagonal ? i < j * k : i < (j + 1) * k) M[i * nOut + j] = 1;
      }
  }
  return M;
}
