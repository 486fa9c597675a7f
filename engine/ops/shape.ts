// Layout ops: reshape (a view, no copy), permute/transpose, slice, pad, concat, broadcastTo. All copies go
// through one kernel (shaders/strided_copy.wgsl); each op's backward is another layout op (permute <->
// inverse permute, slice <-> pad, concat -> slices, broadcastTo -> sumTo).
import { stridedCopy } from './strided_copy.js';
import { type Tensor, fmtShape, shapeSize, stridesOf, type Shape } from '../tensor.js';
import { sumTo } from './reduce.js';
import { broadcastShapes, broadcastStrides } from './elementwise.js';

/** Same data, new shape (one dimension may be -1). A view: no copy. */
export function reshape(a: Tensor, shape: readonly number[]): Tensor {
  const e = a.engine;
  const s = [...shape];
  const free = s.indexOf(-1);
  if (free >= 0) {
    const known = shapeSize(s.filter((_, i) => i !== free));
    s[free] = known === 0 ? 0 : a.size / known;
  }
  if (shapeSize(s) !== a.size || s.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(`reshape: cannot reshape ${fmtShape(a.shape)} (${a.size} elements) to ${fmtShape(shape)}`);
  }
  const y = e.view(a, s, 'reshape');
  return e.tape.record('reshape', y, [a], (g) => [e.view(g, a.shape, 'reshape.backward')]);
}

/** Output dim i is input dim perm[i]. */
export function permute(a: Tensor, perm: readonly number[]): Tensor {
  const e = a.engine;
  if (perm.length !== a.rank || [...perm].sort((x, y) => x - y).some((p, i) => p !== i)) {
    throw new Error(`permute: ${fmtShape(perm)} is not a permutation of the ${a.rank} dims of ${fmtShape(a.shape)}`);
  }
  const outShape = perm.map((p) => a.shape[p]!);
  const inStrides = stridesOf(a.shape);
  const y = e.empty(outShape, 'permute');
  stridedCopy(a, y, { shape: outShape, srcStrides: perm.map((p) => inStrides[p]!), dstStrides: stridesOf(outShape) }, 'permute');
  const inverse = new Array<number>(perm.length);
  perm.forEach((p, i) => (inverse[p] = i));
  return e.tape.record('permute', y, [a], (g) => [permute(g, inverse)]);
}

/** Swap the last two dims. */
export function transpose(a: Tensor): Tensor {
  if (a.rank < 2) throw new Error(`transpose: needs rank >= 2, got ${fmtShape(a.shape)}`);
  const perm = a.shape.map((_, i) => i);
  perm[a.rank - 2] = a.rank - 1;
  perm[a.rank - 1] = a.rank - 2;
  return permute(a, perm);
}

/** Half-open ranges [starts[i], ends[i]) per dim. */
export function slice(a: Tensor, starts: readonly number[], ends: readonly number[]): Tensor {
  const e = a.engine;
  if (starts.length !== a.rank || ends.length !== a.rank) throw new Error(`slice: starts/ends need ${a.rank} entries for ${fmtShape(a.shape)}`);
  for (let i = 0; i < a.rank; i++) {
    if (!(0 <= starts[i]! && starts[i]! <= ends[i]! && ends[i]! <= a.shape[i]!)) {
      throw new Error(`slice: range [${starts[i]}, ${ends[i]}) is invalid for dim ${i} of ${fmtShape(a.shape)}`);
    }
  }
  const outShape = starts.map((s, i) => ends[i]! - s);
  const inStrides = stridesOf(a.shape);
  const y = e.empty(outShape, 'slice');
  const srcBase = starts.reduce((acc, s, i) => acc + s * inStrides[i]!, 0);
  stridedCopy(a, y, { shape: outShape, srcStrides: inStrides, dstStrides: stridesOf(outShape), srcBase }, 'slice');
  return e.tape.record('slice', y, [a], (g, sinks) => {
    // Into a's pending gradient when the tape offers it (added over the window only), else padded with zeros.
    const sink = sinks[0]?.mode === 'accumulate' ? sinks[0].tensor : null;
    if (!sink) return [pad(g, starts, a.shape.map((d, i) => d - ends[i]!), 0)];
    stridedCopy(g, sink, { shape: outShape, srcStrides: stridesOf(outShape), dstStrides: inStrides, dstBase: srcBase, accumulate: true }, 'slice.backward');
    return [sink];
  });
}

/** Constant padding: `before[i]` and `after[i]` elements around dim i. */
export function pad(a: Tensor, before: readonly number[], after: readonly number[], value = 0): Tensor {
  const e = a.engine;
  if (before.length !== a.rank || after.length !== a.rank || [...before, ...after].some((p) => !Number.isInteger(p) || p < 0)) {
    throw new Error(`pad: before/after need ${a.rank} non-negative entries for ${fmtShape(a.shape)}`);
  }
  const outShape = a.shape.map((d, i) => before[i]! + d + after[i]!);
  const y = e.empty(outShape, 'pad');
  stridedCopy(a, y, {
    shape: outShape,
    srcStrides: stridesOf(a.shape),
    dstStrides: stridesOf(outShape),
    lo: before,
    hi: a.shape.map((d, i) => before[i]! + d),
    fill: value,
  }, 'pad');
  return e.tape.record('pad', y, [a], (g) => [slice(g, before, a.shape.map((d, i) => before[i]! + d))]);
}

/**
 * Shift along `axis` by `by` >= 0 positions: y[..., i, ...] = x[..., i - by, ...], zeros where i < by (the
 * same as pad(slice(x)) in one copy; PixelCNN++'s down and right shifts). Backward: the shift back.
 */
export function shift(x: Tensor, axis: number, by: number): Tensor {
  const e = x.engine;
  const ax = axis < 0 ? axis + x.rank : axis;
  if (ax < 0 || ax >= x.rank) throw new Error(`shift: axis ${axis} out of range for ${fmtShape(x.shape)}`);
  if (!Number.isInteger(by) || by < 0) throw new Error(`shift: 'by' must be a non-negative integer, got ${by}`);
  const strides = stridesOf(x.shape);
  const y = e.empty(x.shape, 'shift');
  const lo = x.shape.map((_, i) => (i === ax ? Math.min(by, x.shape[i]!) : 0));
  stridedCopy(x, y, { shape: x.shape, srcStrides: strides, dstStrides: strides, lo, hi: x.shape }, 'shift');
  return e.tape.record('shift', y, [x], (g) => {
    const dx = e.empty(x.shape, 'shift.backward');
    const hi = x.shape.map((d, i) => (i === ax ? Math.max(0, d - by) : d));
    stridedCopy(g, dx, { shape: x.shape, srcStrides: strides, dstStrides: strides, hi, srcBase: by < x.shape[ax]! ? by * strides[ax]! : 0 }, 'shift.backward');
    return [dx];
  });
}

/** Join tensors along `axis`; all other dims must match. */
export function concat(list: readonly Tensor[], axis: number): Tensor {
  if (list.length === 0) throw new Error('concat: empty list');
  const first = list[0]!;
  const e = first.engine;
  const rank = first.rank;
  const ax = axis < 0 ? axis + rank : axis;
  if (ax < 0 || ax >= rank) throw new Error(`concat: axis ${axis} out of range for rank ${rank}`);
  for (const t of list) {
    if (t.rank !== rank || t.shape.some((d, i) => i !== ax && d !== first.shape[i])) {
      throw new Error(`concat: shapes ${list.map((x) => fmtShape(x.shape)).join(', ')} differ outside axis ${ax}`);
    }
  }
  const outShape = [...first.shape];
  outShape[ax] = list.reduce((acc, t) => acc + t.shape[ax]!, 0);
  const y = e.empty(outShape, 'concat');
  const outStrides = stridesOf(outShape);
  const offsets: number[] = [];
  let offset = 0;
  for (const t of list) {
    offsets.push(offset);
    stridedCopy(t, y, { shape: t.shape, srcStrides: stridesOf(t.shape), dstStrides: outStrides, dstBase: offset * outStrides[ax]! }, 'concat');
    offset += t.shape[ax]!;
  }
  return e.tape.record('concat', y, [...list], (g) =>
    list.map((t, i) => {
      if (!t.requiresGrad) return null;
      const starts = outShape.map((_, d) => (d === ax ? offsets[i]! : 0));
      const ends = outShape.map((dim, d) => (d === ax ? offsets[i]! + t.shape[ax]! : dim));
      return slice(g, starts, ends);
    }),
  );
}

/** Materialise numpy broadcasting of `a` to `shape`. */
export function broadcastTo(a: Tensor, shape: Shape): Tensor {
  const e = a.engine;
  const out = broadcastShapes(a.shape, shape, 'broadcastTo');
  if (out.length !== shape.length || out.some((d, i) => d !== shape[i])) throw new Error(`broadcastTo: cannot broadcast ${fmtShape(a.shape)} to ${fmtShape(shape)}`);
  const y = e.empty(out, 'broadcastTo');
  stridedCopy(a, y, { shape: out, srcStrides: broadcastStrides(a.shape, out), dstStrides: stridesOf(out) }, 'broadcastTo');
  return e.tape.record('broadcastTo', y, [a], (g) => [sumTo(g, a.shape)]);
}
