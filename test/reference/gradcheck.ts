// Test utilities shared by the reference self-tests and the GPU tests: a seeded
// PRNG with random shape/data generators, error metrics that cannot silently
// pass on NaN, central finite differences on float64 forwards, and the
// directional (dot-product) gradient check <t, J^T c> == <J t, c>.

import { type RefTensor, ref, shapeStr } from './tensor.js';

// ---------------------------------------------------------------------------
// Seeded PRNG and generators
// ---------------------------------------------------------------------------

/** Returns floats in [0, 1). */
export type Rng = () => number;

/** mulberry32: tiny, fast, deterministic 32-bit PRNG. */
export function mulberry32(seed: number): Rng {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform integer in [lo, hi] (inclusive). */
export function randomInt(rng: Rng, lo: number, hi: number): number {
  return lo + Math.floor(rng() * (hi - lo + 1));
}

/** Fisher-Yates shuffled copy. */
export function shuffle<T>(rng: Rng, xs: readonly T[]): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = randomInt(rng, 0, i);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** Awkward sizes: 1, primes, and neighbours of powers of two (not multiples of 4/8/64). */
const AWKWARD = [1, 1, 2, 3, 5, 7, 9, 13, 17, 31, 33, 63, 65, 127, 129, 255, 257];

/**
 * Random shape of the given rank with dims in [1, maxDim]: about a quarter of
 * dims are 1, half are from a list of awkward sizes (primes, 2^k +- 1), the rest
 * uniform.
 */
export function randomShape(rng: Rng, rank: number, maxDim: number): number[] {
  const cands = AWKWARD.filter((d) => d <= maxDim);
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) {
    const u = rng();
    if (u < 0.2) shape.push(1);
    else if (u < 0.65) shape.push(cands[randomInt(rng, 0, cands.length - 1)]);
    else shape.push(randomInt(rng, 1, maxDim));
  }
  return shape;
}

/** Uniform data in [lo, hi). */
export function randomData(rng: Rng, shape: readonly number[], lo = -1, hi = 1): RefTensor {
  return ref(shape, () => lo + (hi - lo) * rng());
}

/** Positive data in [lo, hi) (default [0.5, 2]) for log, sqrt, div, pow, ... */
export function randomPositive(rng: Rng, shape: readonly number[], lo = 0.5, hi = 2): RefTensor {
  return randomData(rng, shape, lo, hi);
}

// ---------------------------------------------------------------------------
// Error metrics
// ---------------------------------------------------------------------------

/**
 * Inf-norm relative error max|g - r| / max(max|r|, 1e-30).
 * Returns Infinity if the lengths differ, if `gpu` contains NaN anywhere, or
 * if `gpu` is non-finite where `ref` is not the identical infinity.
 */
export function relErr(gpu: ArrayLike<number>, ref: ArrayLike<number>): number {
  return worst(gpu, ref).err;
}

/** Inf-norm absolute error max|g - r| (Infinity on NaN / length mismatch, like relErr). */
export function absErr(gpu: ArrayLike<number>, ref: ArrayLike<number>): number {
  const w = worst(gpu, ref);
  return Number.isFinite(w.err) ? w.absErr : Infinity;
}

interface Worst {
  err: number;
  absErr: number;
  /** index of the largest |g - r| (or first bad element), -1 if none */
  index: number;
  refScale: number;
}

function worst(gpu: ArrayLike<number>, r: ArrayLike<number>): Worst {
  if (gpu.length !== r.length) return { err: Infinity, absErr: Infinity, index: -1, refScale: NaN };
  let scale = 0;
  for (let i = 0; i < r.length; i++) {
    const v = Math.abs(r[i]);
    if (Number.isFinite(v) && v > scale) scale = v;
  }
  let maxDiff = 0;
  let index = -1;
  for (let i = 0; i < gpu.length; i++) {
    const g = gpu[i];
    const x = r[i];
    if (Number.isNaN(g)) return { err: Infinity, absErr: Infinity, index: i, refScale: scale };
    if (!Number.isFinite(g) || !Number.isFinite(x)) {
      if (g === x) continue; // same infinity
      return { err: Infinity, absErr: Infinity, index: i, refScale: scale };
    }
    const d = Math.abs(g - x);
    if (d > maxDiff) {
      maxDiff = d;
      index = i;
    }
  }
  return { err: maxDiff / Math.max(scale, 1e-30), absErr: maxDiff, index, refScale: scale };
}

export interface CompareResult {
  err: number;
  ok: boolean;
  message: string;
}

/**
 * relErr plus a human-readable message naming the op, the shape(s) and the
 * worst element, for use as `expect(r.err, r.message).toBeLessThan(tol)`.
 */
export function compare(
  op: string,
  shapes: readonly number[] | readonly (readonly number[])[],
  gpu: ArrayLike<number>,
  r: ArrayLike<number>,
  tol = Infinity,
): CompareResult {
  const w = worst(gpu, r);
  const shapeText =
    shapes.length > 0 && Array.isArray(shapes[0])
      ? (shapes as readonly (readonly number[])[]).map((s) => shapeStr(s)).join(' x ')
      : shapeStr(shapes as readonly number[]);
  let detail: string;
  if (gpu.length !== r.length) detail = `length mismatch: got ${gpu.length}, expected ${r.length}`;
  else if (w.index < 0) detail = 'exact';
  else detail = `worst at flat index ${w.index}: got ${gpu[w.index]}, expected ${r[w.index]} (ref scale ${w.refScale.toExponential(3)})`;
  const ok = w.err <= tol;
  const message = `${op} ${shapeText}: relErr=${w.err.toExponential(3)}${Number.isFinite(tol) ? ` (tol ${tol})` : ''}; ${detail}`;
  return { err: w.err, ok, message };
}

/** Just the message of `compare`. */
export function errMessage(
  op: string,
  shapes: readonly number[] | readonly (readonly number[])[],
  gpu: ArrayLike<number>,
  r: ArrayLike<number>,
): string {
  return compare(op, shapes, gpu, r).message;
}

/**
 * Per-element relative error with an absolute floor: max_i |g_i - r_i| / max(|r_i|, floor). Unlike relErr
 * (which divides by the largest reference value), a small element's error is measured against itself, so a
 * kernel that returns 0 for sigmoid(-80) = 1.8e-35 or a gradient 4e-35 fails it; `floor` is where a value is
 * small enough that only its absolute error matters. Infinity on NaN, length mismatch or a non-finite value
 * where the reference is not the identical infinity.
 */
export function elemRelErr(gpu: ArrayLike<number>, r: ArrayLike<number>, floor: number): number {
  return worstElem(gpu, r, floor).err;
}

function worstElem(gpu: ArrayLike<number>, r: ArrayLike<number>, floor: number): { err: number; index: number } {
  if (gpu.length !== r.length) return { err: Infinity, index: -1 };
  let err = 0;
  let index = -1;
  for (let i = 0; i < gpu.length; i++) {
    const g = gpu[i];
    const x = r[i];
    if (Number.isNaN(g)) return { err: Infinity, index: i };
    if (!Number.isFinite(g) || !Number.isFinite(x)) {
      if (g === x) continue;
      return { err: Infinity, index: i };
    }
    const e = Math.abs(g - x) / Math.max(Math.abs(x), floor);
    if (e > err) {
      err = e;
      index = i;
    }
  }
  return { err, index };
}

/**
 * elemRelErr plus a message naming the op, the shape, the worst element and its input (when given), for
 * `expect(r.err, r.message).toBeLessThanOrEqual(tol)`.
 */
export function compareElementwise(
  op: string,
  shape: readonly number[],
  gpu: ArrayLike<number>,
  r: ArrayLike<number>,
  floor: number,
  input?: ArrayLike<number>,
): CompareResult & { index: number } {
  const w = worstElem(gpu, r, floor);
  let detail: string;
  if (gpu.length !== r.length) detail = `length mismatch: got ${gpu.length}, expected ${r.length}`;
  else if (w.index < 0) detail = 'exact';
  else detail = `worst at flat index ${w.index}${input ? ` (input ${input[w.index]})` : ''}: got ${gpu[w.index]}, expected ${r[w.index]}`;
  return { err: w.err, ok: Number.isFinite(w.err), index: w.index, message: `${op} ${shapeStr(shape)}: per-element relErr (floor ${floor}) = ${w.err.toExponential(3)}; ${detail}` };
}

// ---------------------------------------------------------------------------
// Finite differences and gradient checks
// ---------------------------------------------------------------------------

function infNorm(xs: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < xs.length; i++) m = Math.max(m, Math.abs(xs[i]));
  return m;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`dot: length ${a.length} != ${b.length}`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function dataOf(t: RefTensor | ArrayLike<number>): ArrayLike<number> {
  return 'data' in t && 'shape' in t ? t.data : (t as ArrayLike<number>);
}

/**
 * Default step: the perturbation h*|t|inf is 1e-6 * max(1, |x|inf) where |x|inf
 * is over all inputs (so the step is relative to the input scale and
 * independent of the tangent's scale).
 */
export function defaultStep(inputs: readonly RefTensor[], tangents: readonly (RefTensor | ArrayLike<number>)[]): number {
  let xs = 0;
  for (const x of inputs) xs = Math.max(xs, infNorm(x.data));
  let ts = 0;
  for (const t of tangents) ts = Math.max(ts, infNorm(dataOf(t)));
  return (1e-6 * Math.max(1, xs)) / (ts > 0 ? ts : 1);
}

function perturbed(inputs: readonly RefTensor[], tangents: readonly (RefTensor | ArrayLike<number>)[], eps: number): RefTensor[] {
  return inputs.map((x, i) => {
    const t = dataOf(tangents[i]);
    if (t.length !== x.data.length) throw new Error(`tangent ${i} has ${t.length} elements, input has ${x.data.length}`);
    return ref(x.shape, (j) => x.data[j] + eps * t[j]);
  });
}

/**
 * Central-difference Jacobian-vector product in float64:
 * J t ~ (f(x + h t) - f(x - h t)) / 2h. One tangent per input (same sizes).
 */
export function finiteDifferenceJvp(
  f: (inputs: RefTensor[]) => RefTensor,
  inputs: readonly RefTensor[],
  tangents: readonly (RefTensor | ArrayLike<number>)[],
  h?: number,
): RefTensor {
  if (tangents.length !== inputs.length) throw new Error(`finiteDifferenceJvp: ${tangents.length} tangents for ${inputs.length} inputs`);
  const step = h ?? defaultStep(inputs, tangents);
  const fp = f(perturbed(inputs, tangents, step));
  const fm = f(perturbed(inputs, tangents, -step));
  return ref(fp.shape, (i) => (fp.data[i] - fm.data[i]) / (2 * step));
}

/**
 * Numerical vjp by central differences, one element at a time:
 * vjp_i[j] ~ d<f(x), c>/d x_i[j]. Cost: 2 * (total input elements) forwards,
 * so use it on small tensors. Step per element: 1e-6 * max(1, |x|inf) unless h is given.
 */
export function numericalVjp(
  f: (inputs: RefTensor[]) => RefTensor,
  inputs: readonly RefTensor[],
  cotangent: RefTensor | ArrayLike<number>,
  h?: number,
): RefTensor[] {
  const c = dataOf(cotangent);
  let xs = 0;
  for (const x of inputs) xs = Math.max(xs, infNorm(x.data));
  const step = h ?? 1e-6 * Math.max(1, xs);
  const work = inputs.map((x) => ref(x.shape, x.data));
  const phi = (): number => dot(f(work).data, c);
  return work.map((w, i) => {
    const g = ref(w.shape);
    for (let j = 0; j < w.data.length; j++) {
      const x0 = inputs[i].data[j];
      w.data[j] = x0 + step;
      const p = phi();
      w.data[j] = x0 - step;
      const m = phi();
      w.data[j] = x0;
      g.data[j] = (p - m) / (2 * step);
    }
    return g;
  });
}

export interface DirectionalResult {
  /** sum_i <t_i, vjp_i> */
  lhs: number;
  /** <J t, c> with J t from central finite differences of f */
  rhs: number;
  /** |lhs - rhs| / max(|lhs|, |rhs|, 1e-30); Infinity if anything is NaN */
  relErr: number;
}

/**
 * Directional gradient check. `vjps[i]` is the (e.g. GPU) cotangent for input i,
 * same element count as inputs[i]; `tangents` one per input; `cotangent` has
 * the output's element count.
 */
export function directionalCheck(
  f: (inputs: RefTensor[]) => RefTensor,
  inputs: readonly RefTensor[],
  tangents: readonly (RefTensor | ArrayLike<number>)[],
  cotangent: RefTensor | ArrayLike<number>,
  vjps: readonly (RefTensor | ArrayLike<number>)[],
  h?: number,
): DirectionalResult {
  if (vjps.length !== inputs.length) throw new Error(`directionalCheck: ${vjps.length} vjps for ${inputs.length} inputs`);
  let lhs = 0;
  for (let i = 0; i < inputs.length; i++) lhs += dot(dataOf(tangents[i]), dataOf(vjps[i]));
  const jt = finiteDifferenceJvp(f, inputs, tangents, h);
  const rhs = dot(jt.data, dataOf(cotangent));
  const denom = Math.max(Math.abs(lhs), Math.abs(rhs), 1e-30);
  const err = Number.isNaN(lhs) || Number.isNaN(rhs) ? Infinity : Math.abs(lhs - rhs) / denom;
  return { lhs, rhs, relErr: err };
}

/** Random tangents (one per input) / cotangent helpers: uniform in [-1, 1). */
export function randomLike(rng: Rng, ts: readonly RefTensor[]): RefTensor[] {
  return ts.map((t) => randomData(rng, t.shape));
}
