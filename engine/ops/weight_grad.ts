// The end of a weight gradient computed in K chunks (conv2d, convTranspose2d and matmul split the long
// pixel/row axis of dW = x^T dy so that a small weight still gets enough workgroups): the chunks' partial sums
// [splits, ...] are summed into dw, and the layer's bias gradient (the sum of dy over its pixels) is made in the
// same dispatch (shaders/weight_grad_finish.wgsl).
import { KERNELS } from '../kernels.js';
import type { GradSink } from '../tape.js';
import type { Tensor } from '../tensor.js';
import { unusedOutput } from './scratch.js';

/**
 * dw = the sum of `partial` [splits, ...dw.shape] over its first axis; with `bias`, also db = the sum of
 * bias.source [..., C] over all but its last axis, into bias.sink (written or accumulated) or a new tensor.
 * Returns db (null without `bias`). `label` names the layer's kind in dispatch labels.
 */
export function finishWeightGrad(partial: Tensor, splits: number, dw: Tensor, bias: { source: Tensor; sink: GradSink | null | undefined } | undefined, label: string): Tensor | null {
  const e = dw.engine;
  if (partial.size !== splits * dw.size) throw new Error(`${label}: ${splits} partial weight gradients need ${splits * dw.size} elements, got ${partial.size}`);
  const channels = bias ? bias.source.shape[bias.source.rank - 1]! : 0;
  const db = bias ? (bias.sink?.tensor ?? e.empty([channels], `${label}.biasGrad`)) : null;
  const dwGroups = Math.ceil(dw.size / 64);
  e.dispatch({
    kernel: KERNELS.weight_grad_finish,
    overrides: { ACCUMULATE_DB: bias?.sink?.mode === 'accumulate' },
    params: { n_w: dw.size, splits, dw_groups: dwGroups, channels, pixels: bias ? bias.source.size / channels : 0 },
    inputs: { partial, dy: bias?.source ?? partial },
    outputs: { dw, db: db ?? unusedOutput(e) },
    workgroups: dwGroups + channels,
    label: bias ? `${label}.finish+bias` : `${label}.finish`,
  });
  return db;
}
