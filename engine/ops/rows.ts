// Internal helper of the op layer (not exported by ops/index.ts): ops that work along one axis (softmax,
// log-softmax, argmax / argmin, gather) see their tensor as [outer, n, inner], the axis in the middle, so a
// kernel reads a row of n elements at stride `inner` without transposing first.
import { type Tensor, fmtShape } from '../tensor.js';

export interface Rows {
  /** The axis, normalised to [0, rank). */
  axis: number;
  outer: number;
  n: number;
  inner: number;
}

export function rowsAlong(t: Tensor, axis: number, op: string): Rows {
  const ax = axis < 0 ? axis + t.rank : axis;
  if (!Number.isInteger(ax) || ax < 0 || ax >= t.rank) throw new Error(`${op}: axis ${axis} out of range for ${fmtShape(t.shape)}`);
  const outer = t.shape.slice(0, ax).reduce((a, b) => a * b, 1);
  const inner = t.shape.slice(ax + 1).reduce((a, b) => a * b, 1);
  return { axis: ax, outer, n: t.shape[ax]!, inner };
}

/** Throws unless `t` is float32 (ops that compute on values; int32 labels and indices go through ops.cast first). */
export function needFloat(t: Tensor, op: string, what = 'input'): void {
  if (t.dtype !== 'float32') throw new Error(`${op}: ${what} ${fmtShape(t.shape)} (from ${t.producer}) is ${t.dtype}; float32 is expected (ops.cast converts)`);
}

/** Throws unless `t` is int32 (labels, indices). */
export function needInt(t: Tensor, op: string, what: string): void {
  if (t.dtype !== 'int32') throw new Error(`${op}: ${what} ${fmtShape(t.shape)} (from ${t.producer}) is ${t.dtype}; int32 is expected (engine.tensor(new Int32Array(...)) or ops.cast(t, 'int32'))`);
}

/** The bits of a float32 NaN, for kernels that write NaN (WGSL has no NaN literal). */
export const NAN_BITS = 0x7fc00000;
