// Elementwise ops: unary, tensor-scalar and broadcasting binary. Specialisation is data: each op is a row in
// a table of op codes (engine/op_codes.ts) that the forward and backward kernels share (shaders/unary*.wgsl,
// shaders/binary*.wgsl, which get the codes as generated constants), so adding an op is one row there, one
// function here and one case in each shader.
import { KERNELS } from '../kernels.js';
import { BINARY_CODES, UNARY_CODES } from '../op_codes.js';
import type { GradSink } from '../tape.js';
import { type Tensor, fmtShape, shapeSize, stridesOf, type Shape } from '../tensor.js';
import { sumInto, sumTo } from './reduce.js';
import { ELEMENTWISE_GROUP, GROUP_CANDIDATES, pow2AtLeast } from '../tuning/static.js';
import type { TunableOp } from '../tuning/tuner.js';

export type UnaryOp = keyof typeof UNARY_CODES;
export type BinaryOp = keyof typeof BINARY_CODES;
/** The comparisons among the binary ops: 1 where the relation holds, else 0; not differentiable. */
export type CompareOp = 'equal' | 'notEqual' | 'less' | 'lessEqual' | 'greater' | 'greaterEqual';

const groups = (n: number): number => Math.ceil(n / 256);

/** An elementwise kernel call as the tuner sees it: which kernel, how many elements. */
export interface ElementwiseProblem {
  kernel: 'unary' | 'binary';
  n: number;
}

/**
 * Elements per invocation of the unary kernels and of the binary kernels' same-shape path ('group1' ... 'group8';
 * shaders/unary.wgsl GROUP; static: engine/tuning/static.ts ELEMENTWISE_GROUP). Bucket: the kernel and the
 * element count rounded up to a power of two: GROUP trades an invocation's fixed cost against parallelism, and
 * both sides of that trade scale with the element count.
 */
export const ELEMENTWISE_TUNABLE: TunableOp<ElementwiseProblem> = {
  name: 'elementwise.group',
  bucket: (p) => `${p.kernel} n${pow2AtLeast(p.n)}`,
  staticChoice: () => `group${ELEMENTWISE_GROUP}`,
  candidates: () => GROUP_CANDIDATES.map((g) => `group${g}`),
  harness: (p, e) => {
    const a = e.uniform([p.n], -2, 2, { seed: 26 });
    const b = e.uniform([p.n], -2, 2, { seed: 27 });
    return {
      run: () => (p.kernel === 'unary' ? exp(a) : mul(a, b)),
      dispose: () => {
        a.dispose();
        b.dispose();
      },
    };
  },
  // The same arithmetic on every element, whatever the grouping: exact.
  tolerance: () => 0,
  describe: (p) => `${p.kernel}, ${p.n} elements`,
};

/** Elements per invocation for an elementwise kernel over n elements (the tuner's choice; static 4). */
function groupFor(e: Tensor['engine'], kernel: 'unary' | 'binary', n: number): number {
  return Number(e.tuner.choose(ELEMENTWISE_TUNABLE, { kernel, n }).slice(5));
}
/** Elements per invocation of the binary kernels (forward and backward) for output y: tuned on the same-shape path, 1 when broadcasting. */
const binaryGroup = (y: Tensor, broadcast: boolean): number => (broadcast ? 1 : groupFor(y.engine, 'binary', y.size));

/**
 * The binary kernel y = a OP b into y (nothing for an empty y).
 */
function dispatchBinary(code: number, broadcast: boolean, params: Record<string, number | number[]>, a: Tensor, b: Tensor, y: Tensor, label: string): void {
  if (y.size === 0) return;
  const group = binaryGroup(y, broadcast);
  y.engine.dispatch({ kernel: KERNELS.binary, overrides: { OP: code, BROADCAST: broadcast, GROUP: group }, params, inputs: { a, b }, outputs: { y }, workgroups: groups(Math.ceil(y.size / group)), label });
}

function unary(op: UnaryOp, a: Tensor, s = 0): Tensor {
  const e = a.engine;
  const y = e.empty(a.shape, op);
  const code = UNARY_CODES[op];
  const group = groupFor(e, 'unary', a.size);
  if (y.size > 0) e.dispatch({ kernel: KERNELS.unary, overrides: { OP: code, GROUP: group }, params: { n: a.size, s }, inputs: { x: a }, outputs: { y }, workgroups: groups(Math.ceil(a.size / group)), label: op });
  return e.tape.record(op, y, [a], (g, sinks) => {
    // Added straight into a's pending gradient when the tape offers it (engine/tape.ts sinks).
    const sink = sinks[0]?.mode === 'accumulate' ? sinks[0].tensor : null;
    const dx = sink ?? e.empty(a.shape, `${op}.backward`);
    if (dx.size > 0) {
      e.dispatch({ kernel: KERNELS.unary_backward, overrides: { OP: code, ACCUMULATE: sink !== null, GROUP: group }, params: { n: a.size, s }, inputs: { x: a, y, dy: g }, outputs: { dx }, workgroups: groups(Math.ceil(a.size / group)), label: `${op}.backward` });
    }
    return [dx];
  });
}

export const neg = (a: Tensor): Tensor => unary('neg', a);
export const exp = (a: Tensor): Tensor => unary('exp', a);
export const log = (a: Tensor): Tensor => unary('log', a);
export const sqrt = (a: Tensor): Tensor => unary('sqrt', a);
export const square = (a: Tensor): Tensor => unary('square', a);
export const sigmoid = (a: Tensor): Tensor => unary('sigmoid', a);
export const tanh = (a: Tensor): Tensor => unary('tanh', a);
export const elu = (a: Tensor): Tensor => unary('elu', a);
export const softplus = (a: Tensor): Tensor => unary('softplus', a);
export const abs = (a: Tensor): Tensor => unary('abs', a);
/** max(a, 0); its derivative at 0 is 0. */
export const relu = (a: Tensor): Tensor => unary('relu', a);
/** a for a > 0, slope * a otherwise (default slope 0.01, PyTorch's). */
export const leakyRelu = (a: Tensor, slope = 0.01): Tensor => unary('leakyRelu', a, slope);
/** The exact GELU, a * Phi(a) (Phi the standard normal CDF; PyTorch's default). */
export const gelu = (a: Tensor): Tensor => unary('gelu', a);
/** GELU's tanh approximation, 0.5 a (1 + tanh(sqrt(2/pi) (a + 0.044715 a^3))). */
export const geluTanh = (a: Tensor): Tensor => unary('geluTanh', a);
/** SiLU (swish): a * sigmoid(a). */
export const silu = (a: Tensor): Tensor => unary('silu', a);
/** A new tensor with the same values (differentiable). */
export const copy = (a: Tensor): Tensor => unary('copy', a);
export const addScalar = (a: Tensor, s: number): Tensor => unary('addScalar', a, s);
/** a - s */
export const subScalar = (a: Tensor, s: number): Tensor => unary('subScalar', a, s);
/** s - a */
export const rsubScalar = (a: Tensor, s: number): Tensor => unary('rsubScalar', a, s);
export const mulScalar = (a: Tensor, s: number): Tensor => unary('mulScalar', a, s);
/** a / s */
export const divScalar = (a: Tensor, s: number): Tensor => unary('divScalar', a, s);
/** s / a */
export const rdivScalar = (a: Tensor, s: number): Tensor => unary('rdivScalar', a, s);
export const maximumScalar = (a: Tensor, s: number): Tensor => unary('maximumScalar', a, s);
/** a^p (a > 0 unless p is an integer) */
export const powScalar = (a: Tensor, p: number): Tensor => unary('powScalar', a, p);

/** numpy broadcasting: align from the right; each pair of dims must be equal or one of them 1. */
export function broadcastShapes(a: Shape, b: Shape, op: string): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`${op}: shapes ${fmtShape(a)} and ${fmtShape(b)} cannot be broadcast together`);
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Strides of `shape` seen at the broadcast output shape `out` (0 on broadcast dims). */
export function broadcastStrides(shape: Shape, out: Shape): number[] {
  const s = stridesOf(shape);
  const r = out.length - shape.length;
  return out.map((_, i) => (i < r || shape[i - r] === 1 ? 0 : s[i - r]!));
}

function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function binaryParams(a: Tensor, b: Tensor, out: Shape): { broadcast: boolean; params: Record<string, number | number[]> } {
  const broadcast = !(sameShape(a.shape, out) && sameShape(b.shape, out));
  return {
    broadcast,
    // s: the factor of addScaled (0 for the other ops; binary_lib.wgsl's Params, shared by the backward).
    params: { n: shapeSize(out), rank: out.length, s: 0, shape: [...out], a_strides: broadcastStrides(a.shape, out), b_strides: broadcastStrides(b.shape, out) },
  };
}

function binary(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  const e = a.engine;
  if (b.engine !== e) throw new Error(`${op}: tensors belong to different engines`);
  const out = broadcastShapes(a.shape, b.shape, op);
  const y = e.empty(out, op);
  const code = BINARY_CODES[op];
  const { broadcast, params } = binaryParams(a, b, out);
  dispatchBinary(code, broadcast, params, a, b, y, op);
  return e.tape.record(op, y, [a, b], (g) => {
    const da = e.empty(out, `${op}.backward`);
    const db = e.empty(out, `${op}.backward`);
    if (y.size > 0) {
      const group = binaryGroup(y, broadcast);
      e.dispatch({ kernel: KERNELS.binary_backward, overrides: { OP: code, BROADCAST: broadcast, GROUP: group }, params, inputs: { a, b, g }, outputs: { da, db }, workgroups: groups(Math.ceil(y.size / group)), label: `${op}.backward` });
    }
    return [reduceGrad(da, a), reduceGrad(db, b)];
  });
}

/** Sum a broadcast gradient back to the operand's shape (disposing the full-size one if reduced). */
function reduceGrad(g: Tensor, operand: Tensor): Tensor | null {
  if (!operand.requiresGrad) {
    g.dispose('gradient not needed');
    return null;
  }
  if (sameShape(g.shape, operand.shape)) return g;
  const r = sumTo(g, operand.shape);
  g.dispose('reduced to operand shape');
  return r;
}

/**
 * a + b. Its backward costs no dispatch where an operand has the output's shape (the gradient is a view of the
 * incoming one) and one reduction where it was broadcast (straight into a leaf's .grad when it has one).
 */
export function add(a: Tensor, b: Tensor): Tensor {
  const e = a.engine;
  if (b.engine !== e) throw new Error('add: tensors belong to different engines');
  const out = broadcastShapes(a.shape, b.shape, 'add');
  const y = e.empty(out, 'add');
  const { broadcast, params } = binaryParams(a, b, out);
  dispatchBinary(BINARY_CODES.add, broadcast, params, a, b, y, 'add');
  return e.tape.record('add', y, [a, b], (g, sinks) => [addGrad(g, a, sinks[0] ?? null), addGrad(g, b, sinks[1] ?? null)]);
}

/**
 * a + s * b for same-shape a, b (a residual branch scaled before the sum: the IAF-VAE's h + 0.1 r) in one
 * dispatch. Backward: g itself for a (a view), s * g for b.
 */
export function addScaled(a: Tensor, b: Tensor, s: number): Tensor {
  const e = a.engine;
  if (b.engine !== e) throw new Error('addScaled: tensors belong to different engines');
  if (!sameShape(a.shape, b.shape)) throw new Error(`addScaled: shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)} differ`);
  const y = e.empty(a.shape, 'addScaled');
  const { params } = binaryParams(a, b, a.shape);
  dispatchBinary(BINARY_CODES.addScaled, false, { ...params, s }, a, b, y, 'addScaled');
  return e.tape.record('addScaled', y, [a, b], (g) => [a.requiresGrad ? e.view(g, a.shape, 'addScaled.backward') : null, b.requiresGrad ? mulScalar(g, s) : null]);
}

/** The gradient of add's operand: g itself (a view), or g summed over the operand's broadcast axes. */
function addGrad(g: Tensor, operand: Tensor, sink: GradSink | null): Tensor | null {
  if (!operand.requiresGrad) return null;
  if (sameShape(g.shape, operand.shape)) return g.engine.view(g, operand.shape, 'add.backward');
  if (sink) {
    const r = g.rank - operand.rank;
    const axes = g.shape.map((_, i) => i).filter((i) => i < r || (operand.shape[i - r] === 1 && g.shape[i] !== 1));
    sumInto(sink.tensor, g, axes, sink.mode === 'accumulate');
    return sink.tensor;
  }
  return sumTo(g, operand.shape);
}
export const sub = (a: Tensor, b: Tensor): Tensor => binary('sub', a, b);
export const mul = (a: Tensor, b: Tensor): Tensor => binary('mul', a, b);
export const div = (a: Tensor, b: Tensor): Tensor => binary('div', a, b);
export const maximum = (a: Tensor, b: Tensor): Tensor => binary('maximum', a, b);
export const minimum = (a: Tensor, b: Tensor): Tensor => binary('minimum', a, b);

/**
 * A comparison with numpy broadcasting: a float32 tensor of 1 where the relation holds, 0 elsewhere (NaN
 * compares unequal to everything). int32 operands are compared as numbers (exact below 2^24 in magnitude).
 * Not differentiable: nothing is recorded, the result is a constant.
 */
function compare(op: CompareOp, a: Tensor, b: Tensor): Tensor {
  const e = a.engine;
  if (b.engine !== e) throw new Error(`${op}: tensors belong to different engines`);
  const out = broadcastShapes(a.shape, b.shape, op);
  return e.scope(() => {
    const fa = a.dtype === 'int32' ? cast(a, 'float32') : a;
    const fb = b.dtype === 'int32' ? cast(b, 'float32') : b;
    const y = e.empty(out, op);
    const { broadcast, params } = binaryParams(fa, fb, out);
    dispatchBinary(BINARY_CODES[op], broadcast, params, fa, fb, y, op);
    return y;
  });
}
export const equal = (a: Tensor, b: Tensor): Tensor => compare('equal', a, b);
export const notEqual = (a: Tensor, b: Tensor): Tensor => compare('notEqual', a, b);
export const less = (a: Tensor, b: Tensor): Tensor => compare('less', a, b);
export const lessEqual = (a: Tensor, b: Tensor): Tensor => compare('lessEqual', a, b);
export const greater = (a: Tensor, b: Tensor): Tensor => compare('greater', a, b);
export const greaterEqual = (a: Tensor, b: Tensor): Tensor => compare('greaterEqual', a, b);

/**
 * Elementwise choice with numpy broadcasting of all three: a where cond != 0, else b (cond is a float32 0/1
 * mask, e.g. from a comparison). Differentiable in a and b (the gradient goes to the operand chosen; none
 * flows through cond); the operand not chosen is never evaluated into the result, so NaN or Inf there stays out.
 */
export function where(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  const e = a.engine;
  if (cond.engine !== e || b.engine !== e) throw new Error('where: tensors belong to different engines');
  if (cond.dtype !== 'float32') throw new Error(`where: cond ${fmtShape(cond.shape)} is ${cond.dtype}; a float32 0/1 mask is expected (a comparison's result, or ops.cast)`);
  const out = broadcastShapes(broadcastShapes(cond.shape, a.shape, 'where'), b.shape, 'where');
  const y = whereRaw(cond, a, b, out, 'where');
  return e.tape.record('where', y, [a, b], (g) => {
    const zero = e.zeros([1]);
    const da = a.requiresGrad ? reduceGrad(whereRaw(cond, g, zero, out, 'where.backward'), a) : null;
    const db = b.requiresGrad ? reduceGrad(whereRaw(cond, zero, g, out, 'where.backward'), b) : null;
    zero.dispose();
    return [da, db];
  });
}

function whereRaw(cond: Tensor, a: Tensor, b: Tensor, out: Shape, label: string): Tensor {
  const e = a.engine;
  const y = e.empty(out, label);
  if (y.size > 0) {
    e.dispatch({
      kernel: KERNELS.where,
      overrides: { RANK: out.length },
      params: { n: y.size, shape: [...out], c_strides: broadcastStrides(cond.shape, out), a_strides: broadcastStrides(a.shape, out), b_strides: broadcastStrides(b.shape, out) },
      inputs: { cond, a, b },
      outputs: { y },
      workgroups: groups(y.size),
      label,
    });
  }
  return y;
}

/**
 * A new tensor of another element type: float32 -> int32 rounds toward zero (values outside the int32 range
 * saturate, above at 2^31 - 128, the largest float32 below 2^31); int32 -> float32 is exact below 2^24 in magnitude. Not differentiable. Same dtype: a copy.
 */
export function cast(a: Tensor, dtype: Tensor['dtype']): Tensor {
  const e = a.engine;
  if (dtype !== 'float32' && dtype !== 'int32') throw new Error(`cast: dtype must be 'float32' or 'int32', got ${String(dtype)}`);
  const y = e.empty(a.shape, 'cast', dtype);
  if (y.size > 0) e.dispatch({ kernel: KERNELS.cast, overrides: { FROM_INT: a.dtype === 'int32', TO_INT: dtype === 'int32' }, params: { n: a.size }, inputs: { x: a }, outputs: { y }, workgroups: groups(a.size), label: 'cast' });
  return y;
}

/** target += scale * source, in place (not recorded on the tape): gradient accumulation, optimizer math. */
export function accumulate(target: Tensor, source: Tensor, scale = 1): void {
  if (!sameShape(target.shape, source.shape)) throw new Error(`accumulate: shapes ${fmtShape(target.shape)} and ${fmtShape(source.shape)} differ`);
  if (target.size === 0) return;
  target.engine.dispatch({ kernel: KERNELS.accumulate, params: { n: target.size, scale }, inputs: { x: source }, outputs: { y: target }, workgroups: groups(target.size), label: 'accumulate' });
}

/** t *= s in place, not recorded (e.g. unscaling gradients after a backward of a scaled loss). */
export function scaleInPlace(t: Tensor, s: number): void {
  if (t.size > 0) t.engine.dispatch({ kernel: KERNELS.scale_in_place, params: { n: t.size, s }, outputs: { y: t }, workgroups: groups(t.size), label: 'scaleInPlace' });
}
