// Float64 CPU reference for every core op of the engine: forward and
// vector-Jacobian product (vjp). GPU tests compare the engine's float32 forward
// against `fwd` and its backward against `vjp`. Everything is written as plain
// index loops, independent of the engine's kernels, and uses the accurate Math
// primitives (log1p, expm1, ...) so that the reference is good to ~1e-15.

import {
  type RefTensor,
  ref,
  size,
  strides,
  shapeStr,
  shapesEqual,
  broadcastShapes,
  broadcastIndexMap,
} from './tensor.js';

// ---------------------------------------------------------------------------
// Table types
// ---------------------------------------------------------------------------

/** Attributes of non-tensor op parameters; each op reads only the ones it needs. */
export interface RefAttrs {
  /** scalar ops: the scalar s (powScalar: the exponent p). */
  s?: number;
  /** reductions: axes (non-negative, distinct) and keepDims (default false). */
  axes?: number[];
  keepDims?: boolean;
  /** reshape: target shape (one entry may be -1). */
  shape?: number[];
  /** permute: output dim i = input dim perm[i]. */
  perm?: number[];
  /** concat: axis (non-negative). */
  axis?: number;
  /** slice: per-dim half-open ranges. */
  starts?: number[];
  ends?: number[];
  /** pad: per-dim amounts and the constant value (default 0). */
  before?: number[];
  after?: number[];
  value?: number;
  /** matmul. */
  transA?: boolean;
  transB?: boolean;
}

/** Sampling hint for tests: 'positive' inputs should be drawn bounded away from 0 (e.g. [0.5, 2]). */
export type InputDomain = 'real' | 'positive';

export interface RefOp {
  name: string;
  /** Number of tensor inputs; -1 = variadic (concat). */
  arity: number;
  /** Attribute keys the op requires/uses (documentation for table-driven tests). */
  attrs: (keyof RefAttrs)[];
  /** Per-input sampling hint (missing entries = 'real'). For variadic ops, domain[0] applies to all. */
  domain: InputDomain[];
  fwd(inputs: RefTensor[], attrs?: RefAttrs): RefTensor;
  /** Input cotangents (shapes of the inputs) for output cotangent g (shape of fwd's output). */
  vjp(inputs: RefTensor[], g: RefTensor, attrs?: RefAttrs): RefTensor[];
}

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

function checkSameShape(op: string, a: readonly number[], b: readonly number[]): void {
  if (!shapesEqual(a, b)) throw new Error(`${op}: shape ${shapeStr(a)} != ${shapeStr(b)}`);
}

function need<T>(op: string, name: string, v: T | undefined): T {
  if (v === undefined) throw new Error(`${op}: missing attribute '${name}'`);
  return v;
}

/** Visit every multi-index of `shape` in row-major order (idx array is reused). */
function forEachIndex(shape: readonly number[], cb: (idx: number[], flat: number) => void): void {
  const n = size(shape);
  const r = shape.length;
  const idx = new Array<number>(r).fill(0);
  for (let f = 0; f < n; f++) {
    cb(idx, f);
    for (let d = r - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
}

function sigmoidScalar(a: number): number {
  if (a >= 0) return 1 / (1 + Math.exp(-a));
  const e = Math.exp(a);
  return e / (1 + e);
}

function softplusScalar(a: number): number {
  return Math.max(a, 0) + Math.log1p(Math.exp(-Math.abs(a)));
}

/**
 * erf in float64, independent of the GPU's Chebyshev fit: the Maclaurin series below |x| = 3 (terms stay below
 * ~1e4, so ~1e-12 absolute), and erfc's continued fraction (Lentz) above, where it converges fast.
 */
export function erfScalar(x: number): number {
  const a = Math.abs(x);
  if (a < 3) {
    let term = x;
    let s = x;
    for (let n = 1; n < 200; n++) {
      term *= (-x * x) / n;
      const add = term / (2 * n + 1);
      s += add;
      if (Math.abs(add) < 1e-17 * Math.abs(s)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * s;
  }
  return Math.sign(x) * (1 - erfcContinuedFraction(a));
}

/** erfc(a) for a >= 3: exp(-a^2)/sqrt(pi) * 1/(a + (1/2)/(a + 1/(a + (3/2)/(a + ...)))). */
function erfcContinuedFraction(a: number): number {
  // Modified Lentz on erfc(a) = exp(-a^2)/sqrt(pi) * K, K = 1/(a + k1/(a + k2/(a + ...))), k_n = n/2.
  const tiny = 1e-300;
  let f = a;
  let C = a;
  let D = 0;
  for (let n = 1; n < 500; n++) {
    const k = n / 2;
    D = a + k * D;
    D = Math.abs(D) < tiny ? tiny : D;
    C = a + k / C;
    C = Math.abs(C) < tiny ? tiny : C;
    D = 1 / D;
    const delta = C * D;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-a * a) / Math.sqrt(Math.PI) / f;
}

/** The standard normal CDF. */
export function normalCdf(x: number): number {
  return x < -3 * Math.SQRT2 ? 0.5 * erfcContinuedFraction(-x / Math.SQRT2) : 0.5 * (1 + erfScalar(x / Math.SQRT2));
}

const GELU_TANH_C = Math.sqrt(2 / Math.PI);

function signScalar(a: number): number {
  return a > 0 ? 1 : a < 0 ? -1 : 0;
}

// ---------------------------------------------------------------------------
// Unary elementwise
// ---------------------------------------------------------------------------

type UnaryF = (a: number) => number;
/** derivative dy/da given a and y = f(a). */
type UnaryD = (a: number, y: number) => number;

function mapUnary(a: RefTensor, f: UnaryF): RefTensor {
  const out = ref(a.shape);
  for (let i = 0; i < a.data.length; i++) out.data[i] = f(a.data[i]);
  return out;
}

function vjpUnary(a: RefTensor, g: RefTensor, f: UnaryF, d: UnaryD, op: string): RefTensor {
  checkSameShape(op, a.shape, g.shape);
  const out = ref(a.shape);
  for (let i = 0; i < a.data.length; i++) {
    const x = a.data[i];
    out.data[i] = g.data[i] * d(x, f(x));
  }
  return out;
}

const UNARY: Record<string, { f: UnaryF; d: UnaryD; domain: InputDomain }> = {
  neg: { f: (a) => -a, d: () => -1, domain: 'real' },
  exp: { f: Math.exp, d: (_a, y) => y, domain: 'real' },
  log: { f: Math.log, d: (a) => 1 / a, domain: 'positive' },
  sqrt: { f: Math.sqrt, d: (_a, y) => 0.5 / y, domain: 'positive' },
  square: { f: (a) => a * a, d: (a) => 2 * a, domain: 'real' },
  sigmoid: { f: sigmoidScalar, d: (a) => sigmoidScalar(a) * sigmoidScalar(-a), domain: 'real' },
  tanh: {
    f: Math.tanh,
    d: (a) => {
      const c = Math.cosh(a);
      return 1 / (c * c);
    },
    domain: 'real',
  },
  elu: { f: (a) => (a > 0 ? a : Math.expm1(a)), d: (a) => (a > 0 ? 1 : Math.exp(a)), domain: 'real' },
  softplus: { f: softplusScalar, d: sigmoidScalar, domain: 'real' },
  abs: { f: Math.abs, d: signScalar, domain: 'real' },
  relu: { f: (a) => Math.max(a, 0), d: (a) => (a > 0 ? 1 : 0), domain: 'real' },
  gelu: { f: (a) => a * normalCdf(a), d: (a) => normalCdf(a) + (a * Math.exp(-0.5 * a * a)) / Math.sqrt(2 * Math.PI), domain: 'real' },
  geluTanh: {
    f: (a) => 0.5 * a * (1 + Math.tanh(GELU_TANH_C * (a + 0.044715 * a ** 3))),
    d: (a) => {
      const t = Math.tanh(GELU_TANH_C * (a + 0.044715 * a ** 3));
      return 0.5 * (1 + t) + 0.5 * a * (1 - t * t) * GELU_TANH_C * (1 + 3 * 0.044715 * a * a);
    },
    domain: 'real',
  },
  silu: { f: (a) => a * sigmoidScalar(a), d: (a) => sigmoidScalar(a) * (1 + a * sigmoidScalar(-a)), domain: 'real' },
};

export const neg = (a: RefTensor): RefTensor => mapUnary(a, UNARY.neg.f);
export const exp = (a: RefTensor): RefTensor => mapUnary(a, UNARY.exp.f);
export const log = (a: RefTensor): RefTensor => mapUnary(a, UNARY.log.f);
export const sqrt = (a: RefTensor): RefTensor => mapUnary(a, UNARY.sqrt.f);
export const square = (a: RefTensor): RefTensor => mapUnary(a, UNARY.square.f);
export const sigmoid = (a: RefTensor): RefTensor => mapUnary(a, UNARY.sigmoid.f);
export const tanh = (a: RefTensor): RefTensor => mapUnary(a, UNARY.tanh.f);
export const elu = (a: RefTensor): RefTensor => mapUnary(a, UNARY.elu.f);
export const softplus = (a: RefTensor): RefTensor => mapUnary(a, UNARY.softplus.f);
export const abs = (a: RefTensor): RefTensor => mapUnary(a, UNARY.abs.f);

// ---------------------------------------------------------------------------
// Binary elementwise with numpy broadcasting
// ---------------------------------------------------------------------------

type BinaryF = (a: number, b: number) => number;
/** returns [d/da, d/db] */
type BinaryD = (a: number, b: number) => [number, number];

function mapBinary(a: RefTensor, b: RefTensor, f: BinaryF): RefTensor {
  const shape = broadcastShapes(a.shape, b.shape);
  const ma = broadcastIndexMap(a.shape, shape);
  const mb = broadcastIndexMap(b.shape, shape);
  const out = ref(shape);
  for (let i = 0; i < out.data.length; i++) out.data[i] = f(a.data[ma[i]], b.data[mb[i]]);
  return out;
}

function vjpBinary(a: RefTensor, b: RefTensor, g: RefTensor, d: BinaryD, op: string): RefTensor[] {
  const shape = broadcastShapes(a.shape, b.shape);
  checkSameShape(op, shape, g.shape);
  const ma = broadcastIndexMap(a.shape, shape);
  const mb = broadcastIndexMap(b.shape, shape);
  const ga = ref(a.shape);
  const gb = ref(b.shape);
  for (let i = 0; i < g.data.length; i++) {
    const [da, db] = d(a.data[ma[i]], b.data[mb[i]]);
    ga.data[ma[i]] += g.data[i] * da;
    gb.data[mb[i]] += g.data[i] * db;
  }
  return [ga, gb];
}

function maxD(a: number, b: number): [number, number] {
  return a > b ? [1, 0] : b > a ? [0, 1] : [0.5, 0.5];
}

const BINARY: Record<string, { f: BinaryF; d: BinaryD; domain: InputDomain[] }> = {
  add: { f: (a, b) => a + b, d: () => [1, 1], domain: ['real', 'real'] },
  sub: { f: (a, b) => a - b, d: () => [1, -1], domain: ['real', 'real'] },
  mul: { f: (a, b) => a * b, d: (a, b) => [b, a], domain: ['real', 'real'] },
  div: { f: (a, b) => a / b, d: (a, b) => [1 / b, -a / (b * b)], domain: ['real', 'positive'] },
  maximum: { f: (a, b) => (a >= b ? a : b), d: maxD, domain: ['real', 'real'] },
  minimum: { f: (a, b) => (a <= b ? a : b), d: (a, b) => (a < b ? [1, 0] : b < a ? [0, 1] : [0.5, 0.5]), domain: ['real', 'real'] },
};

export const add = (a: RefTensor, b: RefTensor): RefTensor => mapBinary(a, b, BINARY.add.f);
export const sub = (a: RefTensor, b: RefTensor): RefTensor => mapBinary(a, b, BINARY.sub.f);
export const mul = (a: RefTensor, b: RefTensor): RefTensor => mapBinary(a, b, BINARY.mul.f);
export const div = (a: RefTensor, b: RefTensor): RefTensor => mapBinary(a, b, BINARY.div.f);
export const maximum = (a: RefTensor, b: RefTensor): RefTensor => mapBinary(a, b, BINARY.maximum.f);

// ---------------------------------------------------------------------------
// Scalar variants (s is a plain number, not differentiated)
// ---------------------------------------------------------------------------

type ScalarF = (a: number, s: number) => number;
type ScalarD = (a: number, s: number) => number;

const SCALAR: Record<string, { f: ScalarF; d: ScalarD; domain: InputDomain }> = {
  addScalar: { f: (a, s) => a + s, d: () => 1, domain: 'real' },
  mulScalar: { f: (a, s) => a * s, d: (_a, s) => s, domain: 'real' },
  subScalar: { f: (a, s) => a - s, d: () => 1, domain: 'real' },
  rsubScalar: { f: (a, s) => s - a, d: () => -1, domain: 'real' },
  divScalar: { f: (a, s) => a / s, d: (_a, s) => 1 / s, domain: 'real' },
  rdivScalar: { f: (a, s) => s / a, d: (a, s) => -s / (a * a), domain: 'positive' },
  maximumScalar: { f: (a, s) => (a >= s ? a : s), d: (a, s) => (a > s ? 1 : a < s ? 0 : 0.5), domain: 'real' },
  powScalar: { f: Math.pow, d: (a, p) => (p === 0 ? 0 : p * Math.pow(a, p - 1)), domain: 'positive' },
  leakyRelu: { f: (a, s) => (a > 0 ? a : s * a), d: (a, s) => (a > 0 ? 1 : s), domain: 'real' },
};

function mapScalar(a: RefTensor, s: number, f: ScalarF): RefTensor {
  const out = ref(a.shape);
  for (let i = 0; i < a.data.length; i++) out.data[i] = f(a.data[i], s);
  return out;
}

export const addScalar = (a: RefTensor, s: number): RefTensor => mapScalar(a, s, SCALAR.addScalar.f);
export const mulScalar = (a: RefTensor, s: number): RefTensor => mapScalar(a, s, SCALAR.mulScalar.f);
/** a - s */
export const subScalar = (a: RefTensor, s: number): RefTensor => mapScalar(a, s, SCALAR.subScalar.f);
/** s - a */
export const rsubScalar = (a: RefTensor, s: number): RefTensor => mapScalar(a, s, SCALAR.rsubScalar.f);
/** a / s */
export const divScalar = (a: RefTensor, s: number): RefTensor => mapScalar(a, s, SCALAR.divScalar.f);
/** s / a */
export const rdivScalar = (a: RefTensor, s: number): RefTensor => mapScalar(a, s, SCALAR.rdivScalar.f);
export const maximumScalar = (a: RefTensor, s: number): RefTensor => mapScalar(a, s, SCALAR.maximumScalar.f);
/** a ^ p */
export const powScalar = (a: RefTensor, p: number): RefTensor => mapScalar(a, p, SCALAR.powScalar.f);

// ---------------------------------------------------------------------------
// Reductions
// ---------------------------------------------------------------------------

interface ReducePlan {
  /** output shape (keepDims applied) */
  outShape: number[];
  /** input flat index -> output flat index (same for keepDims true/false) */
  map: Int32Array;
  /** number of output elements */
  nOut: number;
  /** number of input elements per output element */
  count: number;
}

function reducePlan(op: string, shape: readonly number[], axes: readonly number[], keepDims: boolean): ReducePlan {
  const r = shape.length;
  const isRed = new Array<boolean>(r).fill(false);
  for (const ax of axes) {
    if (!Number.isInteger(ax) || ax < 0 || ax >= r) throw new Error(`${op}: axis ${ax} out of range for ${shapeStr(shape)}`);
    if (isRed[ax]) throw new Error(`${op}: duplicate axis ${ax}`);
    isRed[ax] = true;
  }
  const keepShape = shape.map((d, i) => (isRed[i] ? 1 : d));
  const outShape = keepDims ? keepShape : shape.filter((_d, i) => !isRed[i]);
  const ks = strides(keepShape);
  const map = new Int32Array(size(shape));
  forEachIndex(shape, (idx, f) => {
    let o = 0;
    for (let d = 0; d < r; d++) if (!isRed[d]) o += idx[d] * ks[d];
    map[f] = o;
  });
  let count = 1;
  for (let d = 0; d < r; d++) if (isRed[d]) count *= shape[d];
  return { outShape, map, nOut: size(keepShape), count };
}

function maxPlan(a: RefTensor, p: ReducePlan): Float64Array {
  const m = new Float64Array(p.nOut).fill(-Infinity);
  for (let i = 0; i < a.data.length; i++) {
    const v = a.data[i];
    const o = p.map[i];
    if (v > m[o] || Number.isNaN(v)) m[o] = v;
  }
  return m;
}

export function sum(a: RefTensor, axes: number[], keepDims = false): RefTensor {
  const p = reducePlan('sum', a.shape, axes, keepDims);
  const out = ref(p.outShape);
  for (let i = 0; i < a.data.length; i++) out.data[p.map[i]] += a.data[i];
  return out;
}

export function mean(a: RefTensor, axes: number[], keepDims = false): RefTensor {
  const p = reducePlan('mean', a.shape, axes, keepDims);
  const out = sum(a, axes, keepDims);
  for (let o = 0; o < out.data.length; o++) out.data[o] /= p.count;
  return out;
}

export function max(a: RefTensor, axes: number[], keepDims = false): RefTensor {
  const p = reducePlan('max', a.shape, axes, keepDims);
  return ref(p.outShape, maxPlan(a, p));
}

export function logsumexp(a: RefTensor, axes: number[], keepDims = false): RefTensor {
  const p = reducePlan('logsumexp', a.shape, axes, keepDims);
  const m = maxPlan(a, p);
  const s = new Float64Array(p.nOut);
  for (let i = 0; i < a.data.length; i++) {
    const o = p.map[i];
    if (Number.isFinite(m[o])) s[o] += Math.exp(a.data[i] - m[o]);
  }
  return ref(p.outShape, (o) => (Number.isFinite(m[o]) ? m[o] + Math.log(s[o]) : m[o]));
}

function reduceAttrs(op: string, attrs: RefAttrs | undefined): [number[], boolean] {
  return [need(op, 'axes', attrs?.axes), attrs?.keepDims ?? false];
}

function vjpReduce(op: 'sum' | 'mean' | 'max' | 'logsumexp', a: RefTensor, g: RefTensor, axes: number[], keepDims: boolean): RefTensor {
  const p = reducePlan(op, a.shape, axes, keepDims);
  checkSameShape(op, p.outShape, g.shape);
  const out = ref(a.shape);
  const n = a.data.length;
  if (op === 'sum') {
    for (let i = 0; i < n; i++) out.data[i] = g.data[p.map[i]];
  } else if (op === 'mean') {
    for (let i = 0; i < n; i++) out.data[i] = g.data[p.map[i]] / p.count;
  } else if (op === 'max') {
    const m = maxPlan(a, p);
    const ties = new Float64Array(p.nOut);
    for (let i = 0; i < n; i++) if (a.data[i] === m[p.map[i]]) ties[p.map[i]]++;
    for (let i = 0; i < n; i++) {
      const o = p.map[i];
      out.data[i] = a.data[i] === m[o] ? g.data[o] / ties[o] : 0;
    }
  } else {
    const lse = logsumexp(a, axes, keepDims).data;
    for (let i = 0; i < n; i++) {
      const o = p.map[i];
      out.data[i] = g.data[o] * Math.exp(a.data[i] - lse[o]);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Shape ops
// ---------------------------------------------------------------------------

/** Reshape (one entry of `shape` may be -1). Data order is unchanged. */
export function reshape(a: RefTensor, shape: number[]): RefTensor {
  const n = a.data.length;
  const neg1 = shape.filter((d) => d === -1).length;
  if (neg1 > 1) throw new Error('reshape: more than one -1');
  let target = shape;
  if (neg1 === 1) {
    const known = shape.reduce((p, d) => (d === -1 ? p : p * d), 1);
    if (known === 0 || n % known !== 0) throw new Error(`reshape: cannot infer -1 in ${shapeStr(shape)} from ${shapeStr(a.shape)}`);
    target = shape.map((d) => (d === -1 ? n / known : d));
  }
  if (size(target) !== n) throw new Error(`reshape: ${shapeStr(a.shape)} -> ${shapeStr(shape)} size mismatch`);
  return ref(target, a.data);
}

function checkPerm(perm: readonly number[], r: number): void {
  const seen = new Array<boolean>(r).fill(false);
  if (perm.length !== r) throw new Error(`permute: perm length ${perm.length} != rank ${r}`);
  for (const p of perm) {
    if (!Number.isInteger(p) || p < 0 || p >= r || seen[p]) throw new Error(`permute: bad perm [${perm.join(',')}]`);
    seen[p] = true;
  }
}

/** Output dim i = input dim perm[i]. */
export function permute(a: RefTensor, perm: number[]): RefTensor {
  const r = a.shape.length;
  checkPerm(perm, r);
  const inStr = strides(a.shape);
  const outShape = perm.map((p) => a.shape[p]);
  const s = perm.map((p) => inStr[p]);
  const out = ref(outShape);
  forEachIndex(outShape, (idx, f) => {
    let src = 0;
    for (let d = 0; d < r; d++) src += idx[d] * s[d];
    out.data[f] = a.data[src];
  });
  return out;
}

function inversePerm(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
}

function swapLastPerm(r: number): number[] {
  if (r < 2) throw new Error('transpose: rank < 2');
  const perm = Array.from({ length: r }, (_v, i) => i);
  perm[r - 2] = r - 1;
  perm[r - 1] = r - 2;
  return perm;
}

/** Swap the last two dims. */
export function transpose(a: RefTensor): RefTensor {
  return permute(a, swapLastPerm(a.shape.length));
}

function concatGeom(list: readonly RefTensor[], axis: number): { outShape: number[]; outer: number; inner: number } {
  if (list.length === 0) throw new Error('concat: empty list');
  const r = list[0].shape.length;
  if (!Number.isInteger(axis) || axis < 0 || axis >= r) throw new Error(`concat: bad axis ${axis}`);
  let total = 0;
  for (const t of list) {
    if (t.shape.length !== r || t.shape.some((d, i) => i !== axis && d !== list[0].shape[i])) {
      throw new Error(`concat: incompatible shapes ${list.map((x) => shapeStr(x.shape)).join(' ')} along ${axis}`);
    }
    total += t.shape[axis];
  }
  const outShape = [...list[0].shape];
  outShape[axis] = total;
  const outer = size(outShape.slice(0, axis));
  const inner = size(outShape.slice(axis + 1));
  return { outShape, outer, inner };
}

export function concat(list: RefTensor[], axis: number): RefTensor {
  const { outShape, outer, inner } = concatGeom(list, axis);
  const out = ref(outShape);
  let dst = 0;
  for (let o = 0; o < outer; o++) {
    for (const t of list) {
      const chunk = t.shape[axis] * inner;
      for (let j = 0; j < chunk; j++) out.data[dst++] = t.data[o * chunk + j];
    }
  }
  return out;
}

function checkRanges(op: string, shape: readonly number[], lo: readonly number[], hi: readonly number[]): void {
  if (lo.length !== shape.length || hi.length !== shape.length) throw new Error(`${op}: ranges must have rank ${shape.length}`);
  for (let d = 0; d < shape.length; d++) {
    if (!(Number.isInteger(lo[d]) && Number.isInteger(hi[d]) && 0 <= lo[d] && lo[d] <= hi[d] && hi[d] <= shape[d])) {
      throw new Error(`${op}: bad range [${lo[d]},${hi[d]}) for dim ${d} of ${shapeStr(shape)}`);
    }
  }
}

/** Per-dim half-open ranges [starts[d], ends[d]), step 1. */
export function slice(a: RefTensor, starts: number[], ends: number[]): RefTensor {
  checkRanges('slice', a.shape, starts, ends);
  const outShape = a.shape.map((_d, i) => ends[i] - starts[i]);
  const inStr = strides(a.shape);
  let base = 0;
  for (let d = 0; d < starts.length; d++) base += starts[d] * inStr[d];
  const out = ref(outShape);
  forEachIndex(outShape, (idx, f) => {
    let src = base;
    for (let d = 0; d < idx.length; d++) src += idx[d] * inStr[d];
    out.data[f] = a.data[src];
  });
  return out;
}

/** Constant pad: before[d] / after[d] elements (>= 0) of `value` on each side of dim d. */
export function pad(a: RefTensor, before: number[], after: number[], value = 0): RefTensor {
  const r = a.shape.length;
  if (before.length !== r || after.length !== r) throw new Error(`pad: before/after must have rank ${r}`);
  if ([...before, ...after].some((p) => !Number.isInteger(p) || p < 0)) throw new Error('pad: amounts must be non-negative integers');
  const outShape = a.shape.map((d, i) => before[i] + d + after[i]);
  const outStr = strides(outShape);
  let base = 0;
  for (let d = 0; d < r; d++) base += before[d] * outStr[d];
  const out = ref(outShape);
  out.data.fill(value);
  forEachIndex(a.shape, (idx, f) => {
    let dst = base;
    for (let d = 0; d < r; d++) dst += idx[d] * outStr[d];
    out.data[dst] = a.data[f];
  });
  return out;
}

// ---------------------------------------------------------------------------
// Matmul
// ---------------------------------------------------------------------------

interface MatmulGeom {
  M: number;
  K: number;
  N: number;
  outShape: number[];
  nBatch: number;
  aMap: Int32Array;
  bMap: Int32Array;
  /** element offsets of A_eff[m,k] / B_eff[k,n] inside one batch matrix */
  aIdx: (m: number, k: number) => number;
  bIdx: (k: number, n: number) => number;
}

function matmulGeom(a: RefTensor, b: RefTensor, transA: boolean, transB: boolean): MatmulGeom {
  const ar = a.shape.length;
  const br = b.shape.length;
  if (ar < 2 || br < 2) throw new Error(`matmul: operands must have rank >= 2, got ${shapeStr(a.shape)} ${shapeStr(b.shape)}`);
  const [M, Ka] = transA ? [a.shape[ar - 1], a.shape[ar - 2]] : [a.shape[ar - 2], a.shape[ar - 1]];
  const [Kb, N] = transB ? [b.shape[br - 1], b.shape[br - 2]] : [b.shape[br - 2], b.shape[br - 1]];
  if (Ka !== Kb) {
    throw new Error(`matmul: inner dims differ: ${shapeStr(a.shape)}${transA ? 'ᵀ' : ''} x ${shapeStr(b.shape)}${transB ? 'ᵀ' : ''}`);
  }
  const K = Ka;
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const batch = broadcastShapes(aBatch, bBatch);
  return {
    M,
    K,
    N,
    outShape: [...batch, M, N],
    nBatch: size(batch),
    aMap: broadcastIndexMap(aBatch, batch),
    bMap: broadcastIndexMap(bBatch, batch),
    aIdx: transA ? (m, k) => k * M + m : (m, k) => m * K + k,
    bIdx: transB ? (k, n) => n * K + k : (k, n) => k * N + n,
  };
}

/**
 * Batched matmul. a: [..., M, K] (transA: [..., K, M]); b: [..., K, N]
 * (transB: [..., N, K]); batch dims broadcast numpy-style. Output [...batch, M, N].
 */
export function matmul(a: RefTensor, b: RefTensor, transA = false, transB = false): RefTensor {
  const G = matmulGeom(a, b, transA, transB);
  const { M, K, N } = G;
  const out = ref(G.outShape);
  for (let bi = 0; bi < G.nBatch; bi++) {
    const aOff = G.aMap[bi] * M * K;
    const bOff = G.bMap[bi] * K * N;
    const oOff = bi * M * N;
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let acc = 0;
        for (let k = 0; k < K; k++) acc += a.data[aOff + G.aIdx(m, k)] * b.data[bOff + G.bIdx(k, n)];
        out.data[oOff + m * N + n] = acc;
      }
    }
  }
  return out;
}

function matmulVjp(a: RefTensor, b: RefTensor, g: RefTensor, transA: boolean, transB: boolean): RefTensor[] {
  const G = matmulGeom(a, b, transA, transB);
  checkSameShape('matmul', G.outShape, g.shape);
  const { M, K, N } = G;
  const ga = ref(a.shape);
  const gb = ref(b.shape);
  for (let bi = 0; bi < G.nBatch; bi++) {
    const aOff = G.aMap[bi] * M * K;
    const bOff = G.bMap[bi] * K * N;
    const gOff = bi * M * N;
    // dA_eff[m,k] = sum_n g[m,n] B_eff[k,n];  dB_eff[k,n] = sum_m A_eff[m,k] g[m,n]
    for (let m = 0; m < M; m++) {
      for (let k = 0; k < K; k++) {
        let acc = 0;
        for (let n = 0; n < N; n++) acc += g.data[gOff + m * N + n] * b.data[bOff + G.bIdx(k, n)];
        ga.data[aOff + G.aIdx(m, k)] += acc;
      }
    }
    for (let k = 0; k < K; k++) {
      for (let n = 0; n < N; n++) {
        let acc = 0;
        for (let m = 0; m < M; m++) acc += a.data[aOff + G.aIdx(m, k)] * g.data[gOff + m * N + n];
        gb.data[bOff + G.bIdx(k, n)] += acc;
      }
    }
  }
  return [ga, gb];
}

// ---------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------

function arityCheck(op: string, inputs: readonly RefTensor[], n: number): void {
  if (n >= 0 && inputs.length !== n) throw new Error(`${op}: expected ${n} inputs, got ${inputs.length}`);
}

function buildTable(): Record<string, RefOp> {
  const t: Record<string, RefOp> = {};
  for (const [name, u] of Object.entries(UNARY)) {
    t[name] = {
      name,
      arity: 1,
      attrs: [],
      domain: [u.domain],
      fwd: (x) => (arityCheck(name, x, 1), mapUnary(x[0], u.f)),
      vjp: (x, g) => (arityCheck(name, x, 1), [vjpUnary(x[0], g, u.f, u.d, name)]),
    };
  }
  for (const [name, bo] of Object.entries(BINARY)) {
    t[name] = {
      name,
      arity: 2,
      attrs: [],
      domain: bo.domain,
      fwd: (x) => (arityCheck(name, x, 2), mapBinary(x[0], x[1], bo.f)),
      vjp: (x, g) => (arityCheck(name, x, 2), vjpBinary(x[0], x[1], g, bo.d, name)),
    };
  }
  for (const [name, so] of Object.entries(SCALAR)) {
    t[name] = {
      name,
      arity: 1,
      attrs: ['s'],
      domain: [so.domain],
      fwd: (x, at) => (arityCheck(name, x, 1), mapScalar(x[0], need(name, 's', at?.s), so.f)),
      vjp: (x, g, at) => {
        arityCheck(name, x, 1);
        const s = need(name, 's', at?.s);
        return [vjpUnary(x[0], g, (a) => so.f(a, s), (a) => so.d(a, s), name)];
      },
    };
  }
  const reductions = { sum, mean, max, logsumexp } as const;
  for (const name of ['sum', 'mean', 'max', 'logsumexp'] as const) {
    t[name] = {
      name,
      arity: 1,
      attrs: ['axes', 'keepDims'],
      domain: ['real'],
      fwd: (x, at) => (arityCheck(name, x, 1), reductions[name](x[0], ...reduceAttrs(name, at))),
      vjp: (x, g, at) => (arityCheck(name, x, 1), [vjpReduce(name, x[0], g, ...reduceAttrs(name, at))]),
    };
  }
  t.reshape = {
    name: 'reshape',
    arity: 1,
    attrs: ['shape'],
    domain: ['real'],
    fwd: (x, at) => (arityCheck('reshape', x, 1), reshape(x[0], need('reshape', 'shape', at?.shape))),
    vjp: (x, g) => (arityCheck('reshape', x, 1), [reshape(g, x[0].shape)]),
  };
  t.permute = {
    name: 'permute',
    arity: 1,
    attrs: ['perm'],
    domain: ['real'],
    fwd: (x, at) => (arityCheck('permute', x, 1), permute(x[0], need('permute', 'perm', at?.perm))),
    vjp: (x, g, at) => (arityCheck('permute', x, 1), [permute(g, inversePerm(need('permute', 'perm', at?.perm)))]),
  };
  t.transpose = {
    name: 'transpose',
    arity: 1,
    attrs: [],
    domain: ['real'],
    fwd: (x) => (arityCheck('transpose', x, 1), transpose(x[0])),
    vjp: (x, g) => (arityCheck('transpose', x, 1), [transpose(g)]),
  };
  t.concat = {
    name: 'concat',
    arity: -1,
    attrs: ['axis'],
    domain: ['real'],
    fwd: (x, at) => concat(x, need('concat', 'axis', at?.axis)),
    vjp: (x, g, at) => {
      const axis = need('concat', 'axis', at?.axis);
      const { outShape } = concatGeom(x, axis);
      checkSameShape('concat', outShape, g.shape);
      let off = 0;
      return x.map((xi) => {
        const starts = g.shape.map((_d, i) => (i === axis ? off : 0));
        const ends = g.shape.map((d, i) => (i === axis ? off + xi.shape[axis] : d));
        off += xi.shape[axis];
        return slice(g, starts, ends);
      });
    },
  };
  t.slice = {
    name: 'slice',
    arity: 1,
    attrs: ['starts', 'ends'],
    domain: ['real'],
    fwd: (x, at) => (arityCheck('slice', x, 1), slice(x[0], need('slice', 'starts', at?.starts), need('slice', 'ends', at?.ends))),
    vjp: (x, g, at) => {
      arityCheck('slice', x, 1);
      const starts = need('slice', 'starts', at?.starts);
      const ends = need('slice', 'ends', at?.ends);
      checkRanges('slice', x[0].shape, starts, ends);
      return [pad(g, starts, x[0].shape.map((d, i) => d - ends[i]), 0)];
    },
  };
  t.pad = {
    name: 'pad',
    arity: 1,
    attrs: ['before', 'after', 'value'],
    domain: ['real'],
    fwd: (x, at) =>
      (arityCheck('pad', x, 1), pad(x[0], need('pad', 'before', at?.before), need('pad', 'after', at?.after), at?.value ?? 0)),
    vjp: (x, g, at) => {
      arityCheck('pad', x, 1);
      const before = need('pad', 'before', at?.before);
      return [slice(g, before, before.map((b, i) => b + x[0].shape[i]))];
    },
  };
  t.matmul = {
    name: 'matmul',
    arity: 2,
    attrs: ['transA', 'transB'],
    domain: ['real', 'real'],
    fwd: (x, at) => (arityCheck('matmul', x, 2), matmul(x[0], x[1], at?.transA ?? false, at?.transB ?? false)),
    vjp: (x, g, at) => (arityCheck('matmul', x, 2), matmulVjp(x[0], x[1], g, at?.transA ?? false, at?.transB ?? false)),
  };
  return t;
}

/** All ops, keyed by name, with a uniform signature. */
export const REF_OPS: Readonly<Record<string, RefOp>> = buildTable();

export const UNARY_OPS: readonly string[] = Object.keys(UNARY);
export const BINARY_OPS: readonly string[] = Object.keys(BINARY);
export const SCALAR_OPS: readonly string[] = Object.keys(SCALAR);
export const REDUCE_OPS: readonly string[] = ['sum', 'mean', 'max', 'logsumexp'];

function getOp(name: string): RefOp {
  const op = REF_OPS[name];
  if (op === undefined) throw new Error(`unknown ref op '${name}'`);
  return op;
}

/** Convenience: REF_OPS[name].fwd(inputs, attrs). */
export function refForward(name: string, inputs: RefTensor[], attrs?: RefAttrs): RefTensor {
  return getOp(name).fwd(inputs, attrs);
}

/** Convenience: REF_OPS[name].vjp(inputs, g, attrs). */
export function refVjp(name: string, inputs: RefTensor[], g: RefTensor, attrs?: RefAttrs): RefTensor[] {
  return getOp(name).vjp(inputs, g, attrs);
}
