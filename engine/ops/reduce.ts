// Reductions over any set of axes (sum, mean, max, logsumexp) and sumTo (the broadcast-gradient reducer).
// The kernel reads the input through strides, so reducing a middle axis needs no transpose.
import { KERNELS } from '../kernels.js';
import { type Tensor, fmtShape, shapeSize, stridesOf, type Shape } from '../tensor.js';

const REDUCE_CODES = { sum: 0, mean: 1, max: 2, logsumexp: 3 } as const;
export type ReduceOp = keyof typeof REDUCE_CODES;

function normalizeAxes(axes: number | readonly number[] | undefined, rank: number, op: string): number[] {
  if (axes === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof axes === 'number' ? [axes] : [...axes];
  const out = new Set<number>();
  for (const ax of list) {
    const a = ax < 0 ? ax + rank : ax;
    if (!Number.isInteger(a) || a < 0 || a >= rank) throw new Error(`${op}: axis ${ax} out of range for rank ${rank}`);
    out.add(a);
  }
  return [...out].sort((x, y) => x - y);
}

function reduce(op: ReduceOp, a: Tensor, axesArg: number | readonly number[] | undefined, keepDims: boolean, into?: { tensor: Tensor; accumulate: boolean }): Tensor {
  const e = a.engine;
  const axes = normalizeAxes(axesArg, a.rank, op);
  const isReduced = a.shape.map((_, i) => axes.includes(i));
  const strides = stridesOf(a.shape);
  const keptDims = a.shape.filter((_, i) => !isReduced[i]);
  const nRed = shapeSize(a.shape.filter((_, i) => isReduced[i]));
  if (nRed === 0 && (op === 'max' || op === 'logsumexp' || op === 'mean')) throw new Error(`${op}: reducing over an empty axis of shape ${fmtShape(a.shape)}`);
  const outShape = keepDims ? a.shape.map((d, i) => (isReduced[i] ? 1 : d)) : keptDims;
  if (into && into.tensor.size !== shapeSize(outShape)) throw new Error(`${op}: the target ${fmtShape(into.tensor.shape)} does not hold the result ${fmtShape(outShape)}`);
  const y = into ? into.tensor : e.empty(outShape, op);
  const code = REDUCE_CODES[op];
  const nOut = y.size;
  if (nOut > 0) {
    const perThread = nRed <= 256 && nOut >= 256;
    e.dispatch({
      kernel: KERNELS.reduce,
      overrides: { OP: code, PER_THREAD: perThread, ACCUMULATE: into?.accumulate ?? false },
      params: {
        n_out: nOut,
        n_red: nRed,
        rank_out: keptDims.length,
        rank_red: axes.length,
        out_shape: keptDims,
        out_strides: strides.filter((_, i) => !isReduced[i]),
        red_shape: axes.map((i) => a.shape[i]!),
        red_strides: axes.map((i) => strides[i]!),
      },
      inputs: { x: a },
      outputs: { y },
      workgroups: perThread ? Math.ceil(nOut / 64) : nOut,
      label: op,
    });
  }
  if (into) return y;
  return e.tape.record(op, y, [a], (g) => {
    const dx = e.empty(a.shape, `${op}.backward`);
    // Output strides seen from input coordinates: 0 on reduced axes.
    const outStrides = stridesOf(keptDims);
    let j = 0;
    const inToOut = a.shape.map((_, i) => (isReduced[i] ? 0 : outStrides[j++]!));
    if (dx.size > 0) {
      const bwd = (mode: number, out: Tensor, ties: Tensor): void =>
        e.dispatch({
          kernel: KERNELS.reduce_backward,
          overrides: { OP: mode },
          params: { n: a.size, rank: a.rank, count: nRed, shape: [...a.shape], out_strides: inToOut },
          inputs: { x: a, y, g, ties },
          outputs: { dx: out },
          workgroups: Math.ceil(a.size / 256),
          label: `${op}.backward`,
        });
      if (op === 'max') {
        // Ties split the gradient equally: count the maxima of each output (indicator, then a sum), then divide.
        const indicator = e.empty(a.shape, 'max.backward.ties');
        bwd(4, indicator, g);
        const ties = e.noGrad(() => reduce('sum', indicator, axes, false));
        indicator.dispose();
        bwd(code, dx, ties);
        ties.dispose();
      } else bwd(code, dx, g);
    }
    return [dx];
  });
}

export const sum = (a: Tensor, axes?: number | readonly number[], keepDims = false): Tensor => reduce('sum', a, axes, keepDims);
export const mean = (a: Tensor, axes?: number | readonly number[], keepDims = false): Tensor => reduce('mean', a, axes, keepDims);
/** Maximum; in the backward the gradient is split equally among the elements equal to the maximum (as TF's reduce_max). */
export const max = (a: Tensor, axes?: number | readonly number[], keepDims = false): Tensor => reduce('max', a, axes, keepDims);
export const logsumexp = (a: Tensor, axes?: number | readonly number[], keepDims = false): Tensor => reduce('logsumexp', a, axes, keepDims);

/**
 * Sum over `axes` straight into `target` (overwritten, or added to with accumulate): not recorded on the tape.
 * Backward rules use it to put a gradient into a leaf's .grad (see engine/tape.ts).
 */
export function sumInto(target: Tensor, a: Tensor, axes: number | readonly number[], accumulate: boolean): void {
  reduce('sum', a, axes, false, { tensor: target, accumulate });
}

/** Sum `a` down to `shape` (the inverse of broadcasting `shape` up to a's shape). */
export function sumTo(a: Tensor, shape: Shape): Tensor {
  const r = a.rank - shape.length;
  if (r < 0) throw new Error(`sumTo: cannot reduce ${fmtShape(a.shape)} to the larger rank of ${fmtShape(shape)}`);
  const axes: number[] = [];
  for (let i = 0; i < a.rank; i++) {
    if (i < r) axes.push(i);
    else if (shape[i - r] === 1 && a.shape[i] !== 1) axes.push(i);
    else if (shape[i - r] !== a.shape[i]) throw new Error(`sumTo: ${fmtShape(a.shape)} is not a broadcast of ${fmtShape(shape)}`);
  }
  const summed = reduce('sum', a, axes, true);
  if (summed.rank === shape.length) return summed;
  const v = a.engine.view(summed, shape, 'sumTo');
  summed.dispose('reshaped');
  return v;
}
