// Classification ops: softmax and log-softmax along an axis, cross-entropy from integer labels (fused: the
// log-sum-exp and the picked logit in one pass, the gradient softmax - one-hot in one), argmax / argmin,
// one-hot and gather (index-select). Labels and indices are int32 tensors (Tensor.dtype); the ops that make or
// take them are not differentiable in them.
import { KERNELS } from '../kernels.js';
import { type Tensor, fmtShape } from '../tensor.js';
import { mean, sum } from './reduce.js';
import { NAN_BITS, needFloat, needInt, rowsAlong } from './rows.js';

const groups = (n: number): number => Math.ceil(n / 256);

function softmaxOp(x: Tensor, axis: number, log: boolean): Tensor {
  const op = log ? 'logSoftmax' : 'softmax';
  needFloat(x, op);
  const e = x.engine;
  const { outer, n, inner } = rowsAlong(x, axis, op);
  const rows = outer * inner;
  const params = { rows, n, inner };
  const y = e.empty(x.shape, op);
  if (y.size > 0) e.dispatch({ kernel: KERNELS.softmax, overrides: { LOG: log }, params, inputs: { x }, outputs: { y }, workgroups: groups(rows), label: op });
  return e.tape.record(op, y, [x], (g) => {
    const dx = e.empty(x.shape, `${op}.backward`);
    if (dx.size > 0) e.dispatch({ kernel: KERNELS.softmax_backward, overrides: { LOG: log }, params, inputs: { y, dy: g }, outputs: { dx }, workgroups: groups(rows), label: `${op}.backward` });
    return [dx];
  });
}

/** exp(x) / sum(exp(x)) along `axis` (default the last), stable (the row's maximum is subtracted first). */
export const softmax = (x: Tensor, axis = -1): Tensor => softmaxOp(x, axis, false);
/** log(softmax(x)) along `axis` (default the last), as x - max - log(sum(exp(x - max))): no log of a rounded 0. */
export const logSoftmax = (x: Tensor, axis = -1): Tensor => softmaxOp(x, axis, true);

export interface CrossEntropyOptions {
  /** 'mean' (default) over all examples, 'sum', or 'none': one loss per example, of the labels' shape. */
  reduction?: 'mean' | 'sum' | 'none';
}

/**
 * Cross-entropy of `logits` [..., C] (classes last) against int32 `labels` [...] in [0, C): per example
 * -log softmax(logits)[label] = logsumexp(logits) - logits[label], fused and stable; then the reduction.
 * Differentiable in the logits (dL/dlogits = softmax - one-hot, scaled). A label outside [0, C) gives NaN for
 * its example (and its gradient row), never a read out of bounds.
 */
export function crossEntropy(logits: Tensor, labels: Tensor, options: CrossEntropyOptions = {}): Tensor {
  const op = 'crossEntropy';
  needFloat(logits, op, 'logits');
  needInt(labels, op, 'labels');
  const e = logits.engine;
  if (labels.engine !== e) throw new Error(`${op}: logits and labels belong to different engines`);
  const lead = logits.shape.slice(0, -1);
  const C = logits.shape[logits.rank - 1];
  if (C === undefined || C === 0) throw new Error(`${op}: logits ${fmtShape(logits.shape)} need a non-empty class axis (the last)`);
  if (labels.rank !== lead.length || labels.shape.some((d, i) => d !== lead[i])) {
    throw new Error(`${op}: labels ${fmtShape(labels.shape)} must have the logits' shape without the class axis, ${fmtShape(lead)} (logits ${fmtShape(logits.shape)})`);
  }
  const reduction = options.reduction ?? 'mean';
  if (reduction !== 'mean' && reduction !== 'sum' && reduction !== 'none') throw new Error(`${op}: reduction must be 'mean', 'sum' or 'none', got ${String(reduction)}`);
  const rows = labels.size;
  const loss = e.empty(lead, op);
  const lse = e.empty([rows], `${op}.lse`);
  if (rows > 0) {
    e.dispatch({ kernel: KERNELS.cross_entropy, params: { rows, classes: C, nan_bits: NAN_BITS, n: rows * C }, inputs: { x: logits, labels }, outputs: { loss, lse }, workgroups: groups(rows), label: op });
  }
  const perExample = e.tape.record(op, loss, [logits], (g) => {
    const dx = e.empty(logits.shape, `${op}.backward`);
    if (dx.size > 0) {
      e.dispatch({ kernel: KERNELS.cross_entropy_backward, overrides: { GROUP: 4 }, params: { rows, classes: C, nan_bits: NAN_BITS, n: dx.size }, inputs: { x: logits, labels, lse, dloss: g }, outputs: { dx }, workgroups: groups(Math.ceil(dx.size / 4)), label: `${op}.backward` });
    }
    lse.dispose('crossEntropy backward done');
    return [dx];
  });
  // Without a tape node nothing reads lse later.
  if (!perExample.requiresGrad) lse.dispose('crossEntropy: no backward');
  if (reduction === 'none') return perExample;
  return reduction === 'mean' ? mean(perExample) : sum(perExample);
}

function argReduce(x: Tensor, axis: number, min: boolean): Tensor {
  const op = min ? 'argmin' : 'argmax';
  needFloat(x, op);
  const e = x.engine;
  const { axis: ax, outer, n, inner } = rowsAlong(x, axis, op);
  if (n === 0) throw new Error(`${op}: axis ${ax} of ${fmtShape(x.shape)} is empty`);
  const y = e.empty(x.shape.filter((_, i) => i !== ax), op, 'int32');
  const rows = outer * inner;
  if (rows > 0) e.dispatch({ kernel: KERNELS.arg_reduce, overrides: { MIN: min }, params: { rows, n, inner }, inputs: { x }, outputs: { y }, workgroups: groups(rows), label: op });
  return y;
}

/** The int32 index of the largest element along `axis` (default the last; the axis is removed). Ties: the first. NaN is skipped. Not differentiable. */
export const argmax = (x: Tensor, axis = -1): Tensor => argReduce(x, axis, false);
/** The int32 index of the smallest element along `axis` (default the last). Ties: the first. NaN is skipped. Not differentiable. */
export const argmin = (x: Tensor, axis = -1): Tensor => argReduce(x, axis, true);

/** int32 `indices` [...] -> float32 [..., depth]: 1 at each index, 0 elsewhere (an index outside [0, depth): a zero row). Not differentiable. */
export function oneHot(indices: Tensor, depth: number): Tensor {
  const op = 'oneHot';
  needInt(indices, op, 'indices');
  if (!Number.isInteger(depth) || depth < 1) throw new Error(`${op}: depth must be a positive integer, got ${depth}`);
  const e = indices.engine;
  const y = e.empty([...indices.shape, depth], op);
  if (y.size > 0) e.dispatch({ kernel: KERNELS.one_hot, params: { n: y.size, depth }, inputs: { indices }, outputs: { y }, workgroups: groups(y.size), label: op });
  return y;
}

/**
 * Index-select along `axis` (TensorFlow's gather): x [..., n, ...] and int32 `indices` of any shape give
 * x.shape[:axis] + indices.shape + x.shape[axis+1:], each index picking a slice of x (repeats allowed; an index
 * outside [0, n) gives zeros). Differentiable in x: the gradient is added back at the picked slices.
 */
export function gather(x: Tensor, indices: Tensor, axis = 0): Tensor {
  const op = 'gather';
  needFloat(x, op);
  needInt(indices, op, 'indices');
  const e = x.engine;
  if (indices.engine !== e) throw new Error(`${op}: x and indices belong to different engines`);
  const { axis: ax, outer, n, inner } = rowsAlong(x, axis, op);
  const k = indices.size;
  const outShape = [...x.shape.slice(0, ax), ...indices.shape, ...x.shape.slice(ax + 1)];
  const y = e.empty(outShape, op);
  if (y.size > 0) e.dispatch({ kernel: KERNELS.gather, params: { count: y.size, n, k, inner }, inputs: { x, indices }, outputs: { y }, workgroups: groups(y.size), label: op });
  return e.tape.record(op, y, [x], (g) => {
    const dx = e.empty(x.shape, `${op}.backward`);
    const columns = outer * inner;
    if (dx.size > 0) e.dispatch({ kernel: KERNELS.gather_backward, params: { count: columns, n, k, inner }, inputs: { dy: g, indices }, outputs: { dx }, workgroups: groups(columns), label: `${op}.backward` });
    return [dx];
  });
}
