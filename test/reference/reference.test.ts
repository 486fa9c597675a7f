// Self-tests of the float64 CPU reference: every op's vjp against central
// finite differences of its own forward (element by element and by the
// directional check), hand-computed forward values, tie-splitting rules, the
// Philox known-answer vectors and statistics of the derived random streams.
// The reference must be trustworthy before the GPU tests can lean on it.

import { describe, it, expect } from 'vitest';
import { type RefTensor, ref, scalar, size, broadcastTo, sumToShape } from './tensor.js';
import * as ops from './ops.js';
import * as cls from './classify.js';
import { REF_OPS, type RefAttrs, type RefOp, UNARY_OPS, BINARY_OPS, SCALAR_OPS, REDUCE_OPS } from './ops.js';
import { philox4x32, mulhilo32, refUniform, refNormal, refUniformWords, seedToKey } from './philox.js';
import {
  type Rng,
  mulberry32,
  randomShape,
  randomData,
  randomPositive,
  randomInt,
  shuffle,
  relErr,
  elemRelErr,
  compareElementwise,
  absErr,
  compare,
  numericalVjp,
  finiteDifferenceJvp,
  directionalCheck,
  randomLike,
} from './gradcheck.js';

interface Case {
  inputs: RefTensor[];
  attrs: RefAttrs;
}

const TOL = 1e-6;

function inputFor(rng: Rng, op: RefOp, i: number, shape: number[]): RefTensor {
  const dom = op.domain[op.arity < 0 ? 0 : i] ?? 'real';
  return dom === 'positive' ? randomPositive(rng, shape) : randomData(rng, shape, -2, 2);
}

/** b's shape broadcastable against `out`: drop some leading dims, set some to 1. */
function broadcastPartner(rng: Rng, out: number[]): number[] {
  const drop = randomInt(rng, 0, out.length);
  return out.slice(drop).map((d) => (rng() < 0.35 ? 1 : d));
}

function makeCases(rng: Rng, name: string): Case[] {
  const op = REF_OPS[name];
  const cases: Case[] = [];
  const N = 4;
  const one = (shape: number[], attrs: RefAttrs = {}): Case => ({ inputs: [inputFor(rng, op, 0, shape)], attrs });
  if (UNARY_OPS.includes(name)) {
    cases.push(one([]));
    for (let c = 0; c < N; c++) cases.push(one(randomShape(rng, randomInt(rng, 1, 4), 7)));
  } else if (BINARY_OPS.includes(name)) {
    for (let c = 0; c < N + 2; c++) {
      const out = randomShape(rng, randomInt(rng, 1, 4), 6);
      let sa = out;
      let sb = broadcastPartner(rng, out);
      if (c % 2 === 1) [sa, sb] = [sb, sa];
      // both sides broadcasting: also make some dims of the "full" side 1 where the other is not 1
      if (c === N + 1) sa = sa.map((d, i) => (i === sa.length - 1 && sb.length > 0 && sb[sb.length - 1] !== 1 ? 1 : d));
      cases.push({ inputs: [inputFor(rng, op, 0, sa), inputFor(rng, op, 1, sb)], attrs: {} });
    }
    cases.push({ inputs: [inputFor(rng, op, 0, [3, 4]), inputFor(rng, op, 1, [])], attrs: {} });
    cases.push({ inputs: [inputFor(rng, op, 0, [4, 1, 3]), inputFor(rng, op, 1, [5, 1])], attrs: {} });
  } else if (SCALAR_OPS.includes(name)) {
    const svals = name === 'powScalar' ? [2, 0.5, -1.5, 3.3, 1] : name.includes('div') ? [0.7, -1.9, 3] : [0.3, -1.25, 2.5];
    for (const s of svals) cases.push(one(randomShape(rng, randomInt(rng, 1, 3), 9), { s }));
    cases.push(one([], { s: svals[0] }));
  } else if (REDUCE_OPS.includes(name)) {
    for (let c = 0; c < N + 2; c++) {
      const rank = randomInt(rng, 1, 4);
      const shape = randomShape(rng, rank, 6);
      const all = Array.from({ length: rank }, (_v, i) => i);
      let axes = shuffle(rng, all).slice(0, randomInt(rng, 1, rank)).sort((a, b) => a - b);
      if (c === N) axes = all; // all-axes reduction
      cases.push(one(shape, { axes, keepDims: c % 2 === 0 }));
    }
    cases.push(one([5], { axes: [0], keepDims: false }));
  } else if (name === 'reshape') {
    for (let c = 0; c < N; c++) {
      const shape = randomShape(rng, randomInt(rng, 1, 4), 6);
      let target = shuffle(rng, shape);
      if (target.length >= 2 && rng() < 0.5) target = [target[0] * target[1], ...target.slice(2)];
      if (c === 0) target = [-1];
      if (c === 1) target = [...target, 1];
      cases.push(one(shape, { shape: target }));
    }
  } else if (name === 'permute' || name === 'transpose') {
    for (let c = 0; c < N; c++) {
      const rank = randomInt(rng, 2, 4);
      const shape = randomShape(rng, rank, 6);
      const perm = shuffle(rng, Array.from({ length: rank }, (_v, i) => i));
      cases.push(one(shape, name === 'permute' ? { perm } : {}));
    }
  } else if (name === 'concat') {
    for (let c = 0; c < N; c++) {
      const rank = randomInt(rng, 1, 4);
      const base = randomShape(rng, rank, 5);
      const axis = randomInt(rng, 0, rank - 1);
      const k = randomInt(rng, 1, 3);
      const inputs = Array.from({ length: k }, () => {
        const s = [...base];
        s[axis] = randomInt(rng, 1, 4);
        return inputFor(rng, op, 0, s);
      });
      cases.push({ inputs, attrs: { axis } });
    }
  } else if (name === 'slice') {
    for (let c = 0; c < N; c++) {
      const shape = randomShape(rng, randomInt(rng, 1, 4), 7);
      const starts = shape.map((d) => randomInt(rng, 0, d - 1));
      const ends = shape.map((d, i) => randomInt(rng, starts[i] + 1, d));
      cases.push(one(shape, { starts, ends }));
    }
  } else if (name === 'pad') {
    for (let c = 0; c < N; c++) {
      const shape = randomShape(rng, randomInt(rng, 1, 4), 5);
      const before = shape.map(() => randomInt(rng, 0, 2));
      const after = shape.map(() => randomInt(rng, 0, 2));
      cases.push(one(shape, { before, after, value: c === 0 ? 0 : rng() * 4 - 2 }));
    }
  } else if (name === 'matmul') {
    const batches: [number[], number[]][] = [
      [[], []],
      [[3], []],
      [[], [2]],
      [[2, 3], [3]],
      [[2, 1], [1, 3]],
      [[4], [4]],
    ];
    for (const [ba, bb] of batches) {
      const M = randomInt(rng, 1, 6);
      const K = randomInt(rng, 1, 6);
      const Nn = randomInt(rng, 1, 6);
      const transA = rng() < 0.5;
      const transB = rng() < 0.5;
      const sa = [...ba, ...(transA ? [K, M] : [M, K])];
      const sb = [...bb, ...(transB ? [Nn, K] : [K, Nn])];
      cases.push({ inputs: [randomData(rng, sa), randomData(rng, sb)], attrs: { transA, transB } });
    }
  } else {
    throw new Error(`no case generator for ${name}`);
  }
  return cases;
}

describe('reference ops: vjp vs finite differences', () => {
  const rng = mulberry32(12345);
  for (const name of Object.keys(REF_OPS)) {
    it(name, () => {
      const op = REF_OPS[name];
      const cases = makeCases(rng, name);
      expect(cases.length).toBeGreaterThanOrEqual(3);
      for (const { inputs, attrs } of cases) {
        const f = (xs: RefTensor[]): RefTensor => op.fwd(xs, attrs);
        const out = f(inputs);
        const c = randomData(rng, out.shape);
        const vjp = op.vjp(inputs, c, attrs);
        expect(vjp.length).toBe(inputs.length);
        const num = numericalVjp(f, inputs, c);
        const shapes = inputs.map((x) => x.shape);
        for (let i = 0; i < inputs.length; i++) {
          expect(vjp[i].shape).toEqual(inputs[i].shape);
          const r = compare(`${name} vjp[${i}] ${JSON.stringify(attrs)}`, shapes, vjp[i].data, num[i].data, TOL);
          expect(r.err, r.message).toBeLessThan(TOL);
        }
        const t = randomLike(rng, inputs);
        const d = directionalCheck(f, inputs, t, c, vjp);
        expect(d.relErr, `${name} directional ${JSON.stringify(d)}`).toBeLessThan(TOL);
      }
    });
  }
});

describe('classification, indexing, pooling and normalisation references (classify.ts): vjp vs finite differences', () => {
  const rng = mulberry32(777);
  const cases: [string, RefTensor[], (xs: RefTensor[]) => RefTensor, (xs: RefTensor[], g: RefTensor) => RefTensor[]][] = [];
  for (const axis of [0, 1, 2]) {
    for (const log of [false, true]) {
      const x = randomData(rng, [3, 4, 5], -3, 3);
      cases.push([`${log ? 'logSoftmax' : 'softmax'} axis ${axis}`, [x], ([a]) => cls.refSoftmax(a, axis, log), ([a], g) => [cls.refSoftmaxVjp(a, g, axis, log)]]);
    }
  }
  const labels = [2, 0, 4, 1, 3, 3];
  cases.push(['crossEntropy', [randomData(rng, [2, 3, 5], -3, 3)], ([a]) => cls.refCrossEntropy(a, labels), ([a], g) => [cls.refCrossEntropyVjp(a, labels, g)]]);
  const indices = [3, 0, 3, -1, 1];
  cases.push(['gather axis 1', [randomData(rng, [2, 4, 3])], ([a]) => cls.refGather(a, indices, [5], 1), ([a], g) => [cls.refGatherVjp(a, indices, 1, g)]]);
  const geom = { kh: 3, kw: 2, sh: 2, sw: 1, pad: [1, 2, 1, 0] as [number, number, number, number] };
  cases.push(['maxPool2d', [randomData(rng, [2, 6, 5, 3])], ([a]) => cls.refMaxPool2d(a, geom).y, ([a], g) => [cls.refMaxPool2dVjp(a, geom, g)]]);
  cases.push(['layerNorm', [randomData(rng, [4, 7], -2, 2), randomData(rng, [7]), randomData(rng, [7])], ([a, g, b]) => cls.refLayerNorm(a, g, b, 1e-5), ([a, g, b], dy) => cls.refLayerNormVjp(a, g, b, 1e-5, dy)]);
  const cond = ref([3, 1], [1, 0, 1]);
  cases.push(['where', [randomData(rng, [3, 4]), randomData(rng, [4])], ([a, b]) => cls.refWhere(cond, a, b), ([a, b], g) => cls.refWhereVjp(cond, a, b, g)]);
  for (const [name, inputs, f, vjp] of cases) {
    it(name, () => {
      const c = randomData(rng, f(inputs).shape);
      const got = vjp(inputs, c);
      const num = numericalVjp(f, inputs, c);
      inputs.forEach((x, i) => {
        const r = compare(`${name} vjp[${i}]`, x.shape, got[i].data, num[i].data, TOL);
        expect(r.err, r.message).toBeLessThan(TOL);
      });
    });
  }
});

describe('reference ops: forward values', () => {
  const T = (shape: number[], data: number[]): RefTensor => ref(shape, data);

  it('accurate unary special values', () => {
    expect(ops.softplus(T([4], [0, 1000, -1000, 40])).data).toEqual(new Float64Array([Math.LN2, 1000, 0, 40 + Math.log1p(Math.exp(-40))]));
    expect(ops.softplus(T([1], [-40])).data[0]).toBeCloseTo(Math.exp(-40), 30);
    expect(ops.sigmoid(T([3], [0, -800, 800])).data).toEqual(new Float64Array([0.5, 0, 1]));
    expect(ops.sigmoid(T([1], [-30])).data[0] / Math.exp(-30)).toBeCloseTo(1, 12);
    expect(ops.elu(T([3], [-1e-10, 2, -1])).data[0]).toBe(Math.expm1(-1e-10));
    expect(ops.elu(T([3], [-1e-10, 2, -1])).data[2]).toBe(Math.expm1(-1));
    // sigmoid/tanh derivatives far in the tails must not cancel to 0
    const gs = REF_OPS.sigmoid.vjp([T([1], [40])], T([1], [1]))[0].data[0];
    expect(gs / Math.exp(-40)).toBeCloseTo(1, 10);
    const gt = REF_OPS.tanh.vjp([T([1], [20])], T([1], [1]))[0].data[0];
    expect(gt / (4 * Math.exp(-40))).toBeCloseTo(1, 10);
  });

  it('erf and the normal CDF (gelu) against tabulated values, tails included', () => {
    const table: [number, number][] = [[0.5, 0.5204998778130465], [1, 0.8427007929497149], [2.9, 0.9999589021219005], [3, 0.9999779095030014], [-1.5, -0.9661051464753108], [4, 0.9999999845827421]];
    for (const [x, v] of table) expect(Math.abs(ops.erfScalar(x) - v), `erf(${x})`).toBeLessThan(1e-13);
    for (const [x, v] of [[-6, 9.865876450376946e-10], [-10, 7.61985302416047e-24], [0, 0.5], [1.5, 0.9331927987311419]] as const) {
      expect(Math.abs(ops.normalCdf(x) - v) / v, `Phi(${x})`).toBeLessThan(1e-12);
    }
  });

  it('abs / maximum / max tie rules', () => {
    expect(REF_OPS.abs.vjp([T([3], [-2, 0, 3])], T([3], [1, 1, 1]))[0].data).toEqual(new Float64Array([-1, 0, 1]));
    const [ga, gb] = REF_OPS.maximum.vjp([T([3], [1, 2, 3]), T([3], [2, 2, 2])], T([3], [4, 4, 4]));
    expect(ga.data).toEqual(new Float64Array([0, 2, 4]));
    expect(gb.data).toEqual(new Float64Array([4, 2, 0]));
    const gms = REF_OPS.maximumScalar.vjp([T([3], [1, 2, 3])], T([3], [4, 4, 4]), { s: 2 })[0];
    expect(gms.data).toEqual(new Float64Array([0, 2, 4]));
    const gm = REF_OPS.max.vjp([T([2, 3], [1, 3, 3, 5, 5, 5])], T([2], [6, 9]), { axes: [1] })[0];
    expect(gm.data).toEqual(new Float64Array([0, 3, 3, 3, 3, 3]));
    // broadcast maximum: b broadcast over rows, its gradient sums
    const [, gb2] = REF_OPS.maximum.vjp([T([2, 2], [0, 5, 0, 5]), T([2], [1, 1])], T([2, 2], [1, 1, 1, 1]));
    expect(gb2.data).toEqual(new Float64Array([2, 0]));
  });

  it('broadcasting binary ops', () => {
    const a = T([2, 1], [1, 2]);
    const b = T([3], [10, 20, 30]);
    const c = ops.add(a, b);
    expect(c.shape).toEqual([2, 3]);
    expect([...c.data]).toEqual([11, 21, 31, 12, 22, 32]);
    expect([...ops.sub(b, a).data]).toEqual([9, 19, 29, 8, 18, 28]);
    expect([...ops.div(b, scalar(4)).data]).toEqual([2.5, 5, 7.5]);
    const [ga, gb] = REF_OPS.mul.vjp([a, b], ref([2, 3], () => 1));
    expect([...ga.data]).toEqual([60, 60]);
    expect([...gb.data]).toEqual([3, 3, 3]);
    expect(broadcastTo(T([1, 2], [1, 2]), [3, 2]).data).toEqual(new Float64Array([1, 2, 1, 2, 1, 2]));
    expect(sumToShape(ref([3, 2], [1, 2, 3, 4, 5, 6]), [2]).data).toEqual(new Float64Array([9, 12]));
    expect(() => ops.add(T([2], [1, 2]), T([3], [1, 2, 3]))).toThrow();
  });

  it('scalar ops', () => {
    const a = T([2], [2, 4]);
    expect([...ops.subScalar(a, 1).data]).toEqual([1, 3]);
    expect([...ops.rsubScalar(a, 1).data]).toEqual([-1, -3]);
    expect([...ops.divScalar(a, 2).data]).toEqual([1, 2]);
    expect([...ops.rdivScalar(a, 2).data]).toEqual([1, 0.5]);
    expect([...ops.powScalar(a, 0.5).data]).toEqual([Math.SQRT2, 2]);
    expect([...ops.maximumScalar(a, 3).data]).toEqual([3, 4]);
  });

  it('reductions', () => {
    const a = ref([2, 3], [1, 2, 3, 4, 5, 6]);
    expect(ops.sum(a, [0, 1])).toEqual({ shape: [], data: new Float64Array([21]) });
    expect(ops.sum(a, [0, 1], true).shape).toEqual([1, 1]);
    expect([...ops.sum(a, [0]).data]).toEqual([5, 7, 9]);
    expect([...ops.mean(a, [1], true).data]).toEqual([2, 5]);
    expect(ops.mean(a, [1], true).shape).toEqual([2, 1]);
    expect([...ops.max(a, [0]).data]).toEqual([4, 5, 6]);
    const l = ops.logsumexp(T([2], [1000, 1000]), [0]);
    expect(l.data[0]).toBe(1000 + Math.LN2);
    const l2 = ops.logsumexp(T([3], [-1, 0, 2]), [0]).data[0];
    expect(l2).toBeCloseTo(Math.log(Math.exp(-1) + 1 + Math.exp(2)), 14);
  });

  it('shape ops', () => {
    const a = ref([2, 3, 4], (i) => i);
    const p = ops.permute(a, [2, 0, 1]);
    expect(p.shape).toEqual([4, 2, 3]);
    for (let i = 0; i < 4; i++) for (let j = 0; j < 2; j++) for (let k = 0; k < 3; k++) expect(p.data[i * 6 + j * 3 + k]).toBe(j * 12 + k * 4 + i);
    const t = ops.transpose(a);
    expect(t.shape).toEqual([2, 4, 3]);
    expect(t.data[1 * 12 + 3 * 3 + 2]).toBe(1 * 12 + 2 * 4 + 3);
    expect(ops.reshape(a, [-1, 4]).shape).toEqual([6, 4]);
    const c = ops.concat([T([2, 1], [1, 2]), T([2, 2], [3, 4, 5, 6])], 1);
    expect([...c.data]).toEqual([1, 3, 4, 2, 5, 6]);
    const s = ops.slice(ref([3, 4], (i) => i), [1, 1], [3, 3]);
    expect(s.shape).toEqual([2, 2]);
    expect([...s.data]).toEqual([5, 6, 9, 10]);
    const pd = ops.pad(T([1, 2], [1, 2]), [1, 0], [0, 1], -1);
    expect(pd.shape).toEqual([2, 3]);
    expect([...pd.data]).toEqual([-1, -1, -1, 1, 2, -1]);
  });

  it('matmul', () => {
    const a = T([2, 3], [1, 2, 3, 4, 5, 6]);
    const b = T([3, 2], [7, 8, 9, 10, 11, 12]);
    expect([...ops.matmul(a, b).data]).toEqual([58, 64, 139, 154]);
    expect(ops.matmul(ops.transpose(a), b, true)).toEqual(ops.matmul(a, b));
    expect(ops.matmul(a, ops.transpose(b), false, true)).toEqual(ops.matmul(a, b));
    // batched a, 2-D b == each batch separately
    const rng = mulberry32(7);
    const A = randomData(rng, [3, 2, 4, 5]);
    const B = randomData(rng, [5, 3]);
    const C = ops.matmul(A, B);
    expect(C.shape).toEqual([3, 2, 4, 3]);
    for (let i = 0; i < 6; i++) {
      const Ai = ref([4, 5], A.data.subarray(i * 20, i * 20 + 20));
      expect(relErr(C.data.subarray(i * 12, i * 12 + 12), ops.matmul(Ai, B).data)).toBe(0);
    }
    expect(() => ops.matmul(T([2, 3], [1, 2, 3, 4, 5, 6]), T([2, 3], [1, 2, 3, 4, 5, 6]))).toThrow();
  });
});

describe('gradcheck utilities', () => {
  it('relErr fails on NaN / mismatch and passes identical infinities', () => {
    expect(relErr([1, 2], [1, 2])).toBe(0);
    expect(relErr([1, NaN], [1, 2])).toBe(Infinity);
    expect(relErr([1, NaN], [1, NaN])).toBe(Infinity);
    expect(relErr([1], [1, 2])).toBe(Infinity);
    expect(relErr([Infinity, 1], [Infinity, 2])).toBeCloseTo(0.5, 15);
    expect(relErr([Infinity], [1])).toBe(Infinity);
    expect(relErr([1.5, 2], [1, 2])).toBe(0.25);
  });

  it('elemRelErr measures each element against itself, above a floor, and fails on NaN', () => {
    // relErr hides a small element's error behind the largest reference value; elemRelErr does not.
    expect(relErr([1, 0], [1, 1e-9])).toBeLessThan(1e-8);
    expect(elemRelErr([1, 0], [1, 1e-9], 1e-30)).toBe(1);
    expect(elemRelErr([1, 2e-9], [1, 1e-9], 1e-30)).toBeCloseTo(1, 12);
    // Below the floor only the absolute error counts, relative to the floor.
    expect(elemRelErr([1e-12], [0], 1e-6)).toBeCloseTo(1e-6, 15);
    expect(elemRelErr([1, NaN], [1, 2], 1e-6)).toBe(Infinity);
    expect(elemRelErr([1], [1, 2], 1e-6)).toBe(Infinity);
    expect(elemRelErr([-Infinity, 3], [-Infinity, 3], 1e-6)).toBe(0);
    const c = compareElementwise('op', [2], [1, 0], [1, 1e-9], 1e-30, [5, 6]);
    expect(c.message).toMatch(/op \[2\]: per-element relErr .* worst at flat index 1 \(input 6\): got 0, expected 1e-9/);
    expect(absErr([1.5, 2], [1, 2])).toBe(0.5);
    const r = compare('add', [[2], [2]], [1, 3], [1, 2], 1e-6);
    expect(r.ok).toBe(false);
    expect(r.message).toMatch(/add \[2\] x \[2\].*index 1/);
  });

  it('finite-difference jvp and directional check', () => {
    const rng = mulberry32(3);
    const x = randomData(rng, [4, 3]);
    const y = randomData(rng, [3, 2]);
    const f = (xs: RefTensor[]): RefTensor => ops.matmul(xs[0], xs[1]);
    const [tx, ty] = randomLike(rng, [x, y]);
    const jt = finiteDifferenceJvp(f, [x, y], [tx, ty]);
    const exact = ops.add(ops.add(ops.matmul(tx, y), ops.matmul(x, ty)), ops.mulScalar(ops.matmul(tx, ty), 0));
    expect(relErr(jt.data, exact.data)).toBeLessThan(1e-8);
    const c = randomData(rng, [4, 2]);
    const v = REF_OPS.matmul.vjp([x, y], c);
    const good = directionalCheck(f, [x, y], [tx, ty], c, v.map((t) => Float32Array.from(t.data)));
    expect(good.relErr).toBeLessThan(1e-5);
    const bad = directionalCheck(f, [x, y], [tx, ty], c, [v[0].data, ops.mulScalar(v[1], 1.01).data]);
    expect(bad.relErr).toBeGreaterThan(1e-4);
    const nan = directionalCheck(f, [x, y], [tx, ty], c, [v[0].data, v[1].data.map(() => NaN)]);
    expect(nan.relErr).toBe(Infinity);
  });

  it('randomShape produces awkward sizes and ones', () => {
    const rng = mulberry32(1);
    const dims = new Set<number>();
    for (let i = 0; i < 200; i++) for (const d of randomShape(rng, 3, 130)) dims.add(d);
    expect(dims.has(1)).toBe(true);
    expect([...dims].some((d) => d % 4 !== 0 && d > 8)).toBe(true);
    expect([...dims].every((d) => d >= 1 && d <= 130)).toBe(true);
    expect(size(randomShape(rng, 0, 5))).toBe(1);
  });
});

describe('philox', () => {
  it('Random123 known-answer vectors', () => {
    expect(philox4x32([0, 0, 0, 0], [0, 0])).toEqual([0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
    expect(philox4x32([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff])).toEqual([
      0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd,
    ]);
    expect(philox4x32([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0])).toEqual([
      0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1,
    ]);
  });

  it('mulhilo32 matches BigInt', () => {
    const rng = mulberry32(99);
    const vals = [0, 1, 0xffffffff, 0x80000000, 0xd2511f53, 0xcd9e8d57];
    for (let i = 0; i < 2000; i++) vals.push(Math.floor(rng() * 4294967296));
    for (let i = 0; i + 1 < vals.length; i++) {
      const a = vals[i];
      const b = vals[(i * 7 + 3) % vals.length];
      const p = BigInt(a) * BigInt(b);
      expect(mulhilo32(a, b)).toEqual([Number(p >> 32n), Number(p & 0xffffffffn)]);
    }
  });

  it('seed split and stream layout', () => {
    expect(seedToKey(5)).toEqual([5, 0]);
    expect(seedToKey(2 ** 32 + 7)).toEqual([7, 1]);
    expect(seedToKey(2 ** 53 - 1)).toEqual([0xffffffff, 0x1fffff]);
    const seed = 2 ** 40 + 12345;
    const w = refUniformWords(5, seed, 3);
    for (let i = 0; i < 5; i++) expect(w[i]).toBe(philox4x32([i, 3, 0, 0], [12345, 256])[0]);
    const u = refUniform(5, seed, 3, -2, 6);
    expect(u[2]).toBe(-2 + 8 * (((w[2] >>> 8) + 0.5) / 2 ** 24));
    const r = philox4x32([4, 3, 1, 0], [12345, 256]);
    const u1 = ((r[0] >>> 8) + 0.5) / 2 ** 24;
    const u2 = ((r[1] >>> 8) + 0.5) / 2 ** 24;
    expect(refNormal(5, seed, 3, 1, 2)[4]).toBe(1 + 2 * (Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2)));
    // different streams / seeds differ
    expect(refUniform(4, seed, 4)).not.toEqual(refUniform(4, seed, 3));
    expect(refUniform(4, seed + 1, 3)).not.toEqual(refUniform(4, seed, 3));
  });

  it('uniform and normal statistics', () => {
    const n = 100000;
    const u = refUniform(n, 42, 0);
    let m = 0;
    let mn = 1;
    let mx = 0;
    for (const v of u) {
      m += v;
      mn = Math.min(mn, v);
      mx = Math.max(mx, v);
    }
    m /= n;
    let v2 = 0;
    for (const v of u) v2 += (v - m) ** 2;
    v2 /= n;
    expect(mn).toBeGreaterThan(0);
    expect(mx).toBeLessThan(1);
    expect(Math.abs(m - 0.5)).toBeLessThan(0.005); // ~5 sigma
    expect(Math.abs(v2 - 1 / 12)).toBeLessThan(0.002);
    const z = refNormal(n, 42, 1, 3, 2);
    let zm = 0;
    for (const v of z) zm += v;
    zm /= n;
    let zv = 0;
    for (const v of z) zv += (v - zm) ** 2;
    zv /= n;
    expect(Math.abs(zm - 3)).toBeLessThan(0.04);
    expect(Math.abs(zv - 4)).toBeLessThan(0.1);
    expect(z.every((v) => Number.isFinite(v))).toBe(true);
  });
});
