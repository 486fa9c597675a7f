// Small network building blocks composed from the core ops (their gradients come from the tape):
// weight normalisation, nin (1x1 conv as a matmul) and per-channel moments for data-dependent init.
import { KERNELS } from '../kernels.js';
import { type Tensor, fmtShape } from '../tensor.js';
import { div, maximumScalar, mul, neg, sqrt, square, sub } from './elementwise.js';
import { mean, sum } from './reduce.js';
import { reshape } from './shape.js';
import { matmul } from './matmul.js';

/**
 * Weight normalisation (Salimans & Kingma 2016): w = g * v / ||v||, one norm per output channel, taken over
 * every axis of v except `outAxis` (default: the last). Conv [KH,KW,Cin,Cout] and tap weights [T,Cin,Cout]:
 * outAxis -1; transposed conv [KH,KW,Cout,Cin]: outAxis 2; dense/nin [Cin,Cout]: outAxis -1.
 */
export function weightNorm(v: Tensor, g: Tensor, outAxis = -1): Tensor {
  const ax = outAxis < 0 ? outAxis + v.rank : outAxis;
  if (ax < 0 || ax >= v.rank) throw new Error(`weightNorm: axis ${outAxis} out of range for ${fmtShape(v.shape)}`);
  const C = v.shape[ax]!;
  if (g.size !== C) throw new Error(`weightNorm: g ${fmtShape(g.shape)} must have ${C} elements (axis ${ax} of ${fmtShape(v.shape)})`);
  const others = v.shape.map((_, i) => i).filter((i) => i !== ax);
  const bshape = v.shape.map((d, i) => (i === ax ? d : 1));
  const norm = sqrt(sum(square(v), others, true));
  return mul(v, div(reshape(g, bshape), norm));
}

/** nin: a 1x1 convolution on [..., Cin] as one matmul on [N, Cin] x [Cin, Cout], plus bias [Cout] (and an addend of the output's shape: a residual sum) in its epilogue. */
export function nin(x: Tensor, w: Tensor, bias: Tensor | null, addend?: Tensor): Tensor {
  const cin = x.shape[x.rank - 1]!;
  if (w.rank !== 2 || w.shape[0] !== cin) throw new Error(`nin: weight ${fmtShape(w.shape)} must be [${cin}, Cout] for input ${fmtShape(x.shape)}`);
  const cout = w.shape[1]!;
  const flat = reshape(x, [x.size / cin, cin]);
  if (addend && addend.size !== flat.shape[0]! * cout) throw new Error(`nin: addend ${fmtShape(addend.shape)} does not match the output [${x.shape.slice(0, -1).join(', ')}, ${cout}]`);
  const y = matmul(flat, w, { ...(bias ? { bias } : {}), ...(addend ? { addend } : {}) });
  return reshape(y, [...x.shape.slice(0, -1), cout]);
}

/** Per-channel (last axis) mean and biased variance over all other axes: data-dependent init statistics. */
export function channelMoments(t: Tensor): { mean: Tensor; variance: Tensor } {
  const axes = t.shape.slice(0, -1).map((_, i) => i);
  const m = mean(t, axes);
  const variance = mean(square(sub(t, m)), axes);
  return { mean: m, variance };
}

/**
 * Data-dependent init, in place and not recorded: from the per-channel moments of a weight-normalised layer's
 * output, rescale its gain g and shift its bias b so the re-run layer has mean 0 and std initScale per channel
 * (channels with variance <= minVariance keep their gain: see shaders/ddi_update.wgsl).
 */
export function ddiUpdate(g: Tensor, b: Tensor, moments: { mean: Tensor; variance: Tensor }, initScale: number, minVariance = 1e-8): void {
  const n = g.size;
  for (const [name, t] of [['b', b], ['mean', moments.mean], ['variance', moments.variance]] as const) {
    if (t.size !== n) throw new Error(`ddiUpdate: ${name} ${fmtShape(t.shape)} does not match g ${fmtShape(g.shape)}`);
  }
  g.engine.dispatch({
    kernel: KERNELS.ddi_update,
    params: { n, init_scale: initScale, min_var: minVariance },
    inputs: { mean: moments.mean, variance: moments.variance },
    outputs: { g, b },
    workgroups: Math.ceil(n / 256),
    label: 'ddiUpdate',
  });
}

/** min(max(x, lo), hi), differentiable (gradient 0 outside the range). */
export function clamp(x: Tensor, lo: number, hi: number): Tensor {
  return neg(maximumScalar(neg(maximumScalar(x, lo)), -hi));
}
