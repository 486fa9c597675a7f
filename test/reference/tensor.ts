// Minimal float64 tensor type for the CPU reference implementation.
// The GPU tests compare float32 engine results against this independent,
// deliberately simple (index-loop) float64 code; nothing here is shared with
// the engine so that a bug in one cannot hide in the other.

/** Row-major contiguous float64 tensor. A scalar has shape [] and one element. */
export interface RefTensor {
  shape: number[];
  data: Float64Array;
}

/** Number of elements of a shape (1 for []). */
export function size(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`bad dim ${d} in shape [${shape.join(',')}]`);
    n *= d;
  }
  return n;
}

/** Row-major strides in elements. */
export function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/**
 * Build a tensor. `data` may be omitted (zeros), an array-like of exactly
 * size(shape) numbers (copied), or a function of the flat index.
 */
export function ref(shape: readonly number[], data?: ArrayLike<number> | ((i: number) => number)): RefTensor {
  const n = size(shape);
  const out = new Float64Array(n);
  if (typeof data === 'function') {
    for (let i = 0; i < n; i++) out[i] = data(i);
  } else if (data !== undefined) {
    if (data.length !== n) throw new Error(`ref: data length ${data.length} != size ${n} of [${shape.join(',')}]`);
    for (let i = 0; i < n; i++) out[i] = data[i];
  }
  return { shape: [...shape], data: out };
}

/** Scalar (shape []) tensor. */
export function scalar(v: number): RefTensor {
  return ref([], [v]);
}

export function zerosLike(t: RefTensor): RefTensor {
  return ref(t.shape);
}

export function clone(t: RefTensor): RefTensor {
  return { shape: [...t.shape], data: new Float64Array(t.data) };
}

export function shapesEqual(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function shapeStr(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/** Flat index -> multi-index. */
export function unravel(flat: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let i = shape.length - 1; i >= 0; i--) {
    const d = shape[i];
    idx[i] = flat % d;
    flat = Math.floor(flat / d);
  }
  return idx;
}

/** Multi-index -> flat index. */
export function ravel(idx: readonly number[], shape: readonly number[]): number {
  let flat = 0;
  for (let i = 0; i < shape.length; i++) flat = flat * shape[i] + idx[i];
  return flat;
}

/** numpy broadcast of two shapes (aligned from the right; size-1 dims stretch). */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] {
  const r = Math.max(a.length, b.length);
  const out = new Array<number>(r);
  for (let i = 0; i < r; i++) {
    const da = i < r - a.length ? 1 : a[i - (r - a.length)];
    const db = i < r - b.length ? 1 : b[i - (r - b.length)];
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(`cannot broadcast ${shapeStr(a)} with ${shapeStr(b)}`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/**
 * For every flat index of `outShape`, the flat index of the element of a tensor
 * of shape `inShape` that broadcasts onto it. Throws if `inShape` does not
 * broadcast to `outShape`.
 */
export function broadcastIndexMap(inShape: readonly number[], outShape: readonly number[]): Int32Array {
  const r = outShape.length;
  if (inShape.length > r) throw new Error(`cannot broadcast ${shapeStr(inShape)} to ${shapeStr(outShape)}`);
  const off = r - inShape.length;
  const inStr = strides(inShape);
  const bStr = new Array<number>(r).fill(0);
  for (let i = 0; i < inShape.length; i++) {
    const d = inShape[i];
    const o = outShape[i + off];
    if (d === o) bStr[i + off] = inStr[i];
    else if (d === 1) bStr[i + off] = 0;
    else throw new Error(`cannot broadcast ${shapeStr(inShape)} to ${shapeStr(outShape)}`);
  }
  const n = size(outShape);
  const map = new Int32Array(n);
  const idx = new Array<number>(r).fill(0);
  let src = 0;
  for (let f = 0; f < n; f++) {
    map[f] = src;
    // increment multi-index (odometer) and update source offset
    for (let d = r - 1; d >= 0; d--) {
      idx[d]++;
      src += bStr[d];
      if (idx[d] < outShape[d]) break;
      src -= bStr[d] * idx[d];
      idx[d] = 0;
    }
  }
  return map;
}

/** Materialise the broadcast of `t` to `shape`. */
export function broadcastTo(t: RefTensor, shape: readonly number[]): RefTensor {
  const map = broadcastIndexMap(t.shape, shape);
  const out = ref(shape);
  for (let i = 0; i < map.length; i++) out.data[i] = t.data[map[i]];
  return out;
}

/**
 * Reverse of broadcasting (used by vjps): sum `g` (shape = broadcast output)
 * over the axes along which a tensor of `shape` was broadcast.
 */
export function sumToShape(g: RefTensor, shape: readonly number[]): RefTensor {
  const map = broadcastIndexMap(shape, g.shape);
  const out = ref(shape);
  for (let i = 0; i < map.length; i++) out.data[map[i]] += g.data[i];
  return out;
}
