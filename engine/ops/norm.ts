// Layer normalisation over the last axis (Ba, Kiros & Hinton 2016), fused: one kernel normalises each row and
// applies the affine gamma, beta, keeping the row's mean and 1/std for the backward; one kernel gives dx (and
// dy * xhat, whose column sums are dgamma); dbeta is dy's column sums.
import { KERNELS } from '../kernels.js';
import { type Tensor, fmtShape } from '../tensor.js';
import { sumInto, sumTo } from './reduce.js';
import { needFloat } from './rows.js';
import { unusedOutput } from './scratch.js';

/**
 * (x - mean) / sqrt(var + eps) * gamma + beta over the last axis of x [..., C] (biased variance, as PyTorch and
 * TensorFlow); gamma and beta [C] (or null: no scale, no shift). Differentiable in x, gamma and beta.
 */
export function layerNorm(x: Tensor, gamma: Tensor | null, beta: Tensor | null, eps = 1e-5): Tensor {
  const op = 'layerNorm';
  needFloat(x, op);
  const e = x.engine;
  const C = x.shape[x.rank - 1];
  if (C === undefined || C === 0) throw new Error(`${op}: x ${fmtShape(x.shape)} needs a non-empty last axis`);
  if ((gamma === null) !== (beta === null)) throw new Error(`${op}: give both gamma and beta, or neither`);
  for (const [name, t] of [['gamma', gamma], ['beta', beta]] as const) {
    if (!t) continue;
    needFloat(t, op, name);
    if (t.size !== C || t.rank !== 1) throw new Error(`${op}: ${name} ${fmtShape(t.shape)} must be [${C}] for x ${fmtShape(x.shape)}`);
    if (t.engine !== e) throw new Error(`${op}: x and ${name} belong to different engines`);
  }
  if (!(eps > 0)) throw new Error(`${op}: eps must be > 0, got ${eps}`);
  const affine = gamma !== null && beta !== null;
  const rows = x.size / C;
  const y = e.empty(x.shape, op);
  const mean = e.empty([rows], `${op}.mean`);
  const rstd = e.empty([rows], `${op}.rstd`);
  if (rows > 0) {
    e.dispatch({ kernel: KERNELS.layer_norm, overrides: { AFFINE: affine }, params: { rows, c: C, eps }, inputs: { x, gamma: gamma ?? x, beta: beta ?? x }, outputs: { y, mean, rstd }, workgroups: Math.ceil(rows / 256), label: op });
  }
  const inputs = affine ? [x, gamma, beta] : [x];
  const out = e.tape.record(op, y, inputs, (g, sinks) => {
    const dx = e.empty(x.shape, `${op}.backward`);
    const dyxhat = affine && gamma.requiresGrad ? e.empty(x.shape, `${op}.backward.dyxhat`) : null;
    if (rows > 0) {
      e.dispatch({
        kernel: KERNELS.layer_norm_backward,
        overrides: { AFFINE: affine },
        params: { rows, c: C, eps },
        inputs: { x, gamma: gamma ?? x, mean, rstd, dy: g },
        outputs: { dx, dyxhat: dyxhat ?? unusedOutput(e) },
        workgroups: Math.ceil(rows / 256),
        label: `${op}.backward`,
      });
    }
    mean.dispose('layerNorm backward done');
    rstd.dispose('layerNorm backward done');
    if (!affine) return [dx];
    const columnSum = (t: Tensor, param: Tensor, i: number): Tensor | null => {
      if (!param.requiresGrad) return null;
      const sink = sinks[i];
      if (sink) {
        sumInto(sink.tensor, t, t.shape.slice(0, -1).map((_, k) => k), sink.mode === 'accumulate');
        return sink.tensor;
      }
      return sumTo(t, param.shape);
    };
    const dgamma = dyxhat ? columnSum(dyxhat, gamma, 1) : null;
    dyxhat?.dispose();
    return [x.requiresGrad ? dx : (dx.dispose(), null), dgamma, columnSum(g, beta, 2)];
  });
  if (!out.requiresGrad) {
    mean.dispose('layerNorm: no backward');
    rstd.dispose('layerNorm: no backward');
  }
  return out;
}
