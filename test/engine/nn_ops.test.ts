// The classification, indexing, pooling and normalisation ops against their float64 references
// (test/reference/classify.ts): softmax / log-softmax along any axis, cross-entropy from int32 labels (each
// reduction), where, gather, max-pool and layer norm: forward (relErr <= 1e-5), every gradient against the
// reference vjp (<= 1e-4) and the directional check (<= 1e-4), on 4 random shapes each with sizes that are not
// multiples of 4, 64 or 256, outputs NaN-poisoned. The non-differentiable ones (argmax / argmin, comparisons,
// one-hot, cast) exactly. int32 tensors: creation, readback, write, and the dtype checks of ops and kernels.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KERNELS, ops, type Engine, type Tensor } from '../../engine/index.js';
import type { RefOp } from '../reference/ops.js';
import { type RefTensor, ref } from '../reference/tensor.js';
import {
  REF_COMPARE,
  refArgReduce,
  refCompare,
  refCrossEntropy,
  refCrossEntropyVjp,
  refGather,
  refGatherVjp,
  refLayerNorm,
  refLayerNormVjp,
  refMaxPool2d,
  refMaxPool2dVjp,
  refOneHot,
  refSoftmax,
  refSoftmaxVjp,
  refWhere,
  refWhereVjp,
  type RefPoolGeom,
} from '../reference/classify.js';
import { compare, mulberry32, randomData, randomInt, randomShape, type Rng } from '../reference/gradcheck.js';
import { disposeTestEngine, roundF32, testEngine, toGpu } from '../helpers/gpu.js';
import { checkOpCase, type OpCase } from '../helpers/opcheck.js';

const CASES = 4;
let engine: Engine;
beforeAll(async () => {
  engine = await testEngine();
});
afterAll(disposeTestEngine);

const real = (rng: Rng, shape: number[], scale = 2): RefTensor => roundF32(randomData(rng, shape, -scale, scale));
const refOp = (name: string, fwd: RefOp['fwd'], vjp: RefOp['vjp']): RefOp => ({ name, arity: 1, attrs: [], domain: [], fwd, vjp });
const intTensor = (values: number[], shape: number[]): Tensor => engine.tensor(Int32Array.from(values), shape);

async function checkAll(op: string, seed: number, gen: (rng: Rng) => { c: OpCase; ref: RefOp }): Promise<void> {
  const rng = mulberry32(seed);
  for (let k = 0; k < CASES; k++) {
    const { c, ref: r } = gen(rng);
    await checkOpCase(engine, op, r, c, rng);
  }
}

describe('softmax and log-softmax vs float64', () => {
  for (const log of [false, true]) {
    const op = log ? 'logSoftmax' : 'softmax';
    it(`${op}: any axis, ${CASES} random shapes, forward, backward, directional`, async () => {
      await checkAll(op, log ? 71 : 72, (rng) => {
        const shape = randomShape(rng, randomInt(rng, 1, 4), 40);
        const axis = randomInt(rng, 0, shape.length - 1);
        const x = real(rng, shape, 6);
        return {
          c: { inputs: [x], attrs: { axis }, run: ([t]) => (log ? ops.logSoftmax(t!, axis) : ops.softmax(t!, axis)) },
          ref: refOp(op, ([a]) => refSoftmax(a!, axis, log), ([a], g) => [refSoftmaxVjp(a!, g, axis, log)]),
        };
      });
    });
  }

  it('softmax: stable for logits of 1e4 (no overflow), rows sum to 1; log-softmax finite where softmax underflows', async () => {
    const x = engine.tensor([1e4, 1e4 - 1, 1e4 - 2, -1e4, 0, 50], [2, 3]);
    const p = await ops.softmax(x).read();
    const want = refSoftmax(ref([2, 3], [1e4, 1e4 - 1, 1e4 - 2, -1e4, 0, 50]), 1, false);
    const r = compare('softmax at extreme logits', [2, 3], p, want.data, 1e-6);
    expect(r.err, r.message).toBeLessThanOrEqual(1e-6);
    const lp = await ops.logSoftmax(x).read();
    expect(lp[3], 'log-softmax of a logit 1e4 below the row maximum').toBeCloseTo(-1e4 - 50, 0);
    x.dispose();
  });
});

describe('crossEntropy from int32 labels vs float64', () => {
  for (const reduction of ['none', 'mean', 'sum'] as const) {
    it(`reduction '${reduction}': ${CASES} random shapes (classes not multiples of 4 or 64), forward, backward, directional`, async () => {
      await checkAll(`crossEntropy(${reduction})`, reduction.length * 31, (rng) => {
        const lead = randomShape(rng, randomInt(rng, 1, 2), 70);
        const C = [1, 3, 10, 67, 130][randomInt(rng, 0, 4)]!;
        const labels = Array.from({ length: lead.reduce((a, b) => a * b, 1) }, () => randomInt(rng, 0, C - 1));
        const logits = real(rng, [...lead, C], 5);
        const reduce = (t: RefTensor): RefTensor => {
          const s = t.data.reduce((a, b) => a + b, 0);
          return reduction === 'none' ? t : ref([], [reduction === 'mean' ? s / t.data.length : s]);
        };
        const expand = (g: RefTensor): RefTensor => (reduction === 'none' ? g : ref(lead, () => (reduction === 'mean' ? g.data[0]! / labels.length : g.data[0]!)));
        return {
          c: { inputs: [logits], attrs: {}, describe: { classes: C, labels: labels.length }, run: ([t]) => ops.crossEntropy(t!, intTensor(labels, lead), { reduction }) },
          ref: refOp('crossEntropy', ([a]) => reduce(refCrossEntropy(a!, labels)), ([a], g) => [refCrossEntropyVjp(a!, labels, expand(g))]),
        };
      });
    });
  }

  it('stable at logits of +-1e4; a label outside [0, C) gives NaN for that example only; checks its arguments', async () => {
    const logits = engine.tensor([1e4, -1e4, 0, 3, 1, 2, 0.5, 0.25, 0], [3, 3]);
    const loss = await ops.crossEntropy(logits, intTensor([1, 0, 3], [3]), { reduction: 'none' }).read();
    expect(loss[0], 'loss of a logit 2e4 below the maximum').toBeCloseTo(2e4, 0);
    const want = refCrossEntropy(ref([3, 3], [1e4, -1e4, 0, 3, 1, 2, 0.5, 0.25, 0]), [1, 0, 3]);
    const r = compare('crossEntropy, finite rows', [2], loss.subarray(0, 2), want.data.subarray(0, 2), 1e-6);
    expect(r.err, r.message).toBeLessThanOrEqual(1e-6);
    expect(loss[2], 'label 3 with 3 classes').toBeNaN();
    expect(() => ops.crossEntropy(logits, engine.tensor([0, 1, 2], [3]))).toThrow(/crossEntropy: labels \[3\] .* is float32; int32 is expected/);
    expect(() => ops.crossEntropy(logits, intTensor([0, 1], [2]))).toThrow(/labels \[2\] must have the logits' shape without the class axis, \[3\]/);
    logits.dispose();
  });
});

describe('where vs float64', () => {
  it(`broadcasting cond, a, b: ${CASES} random shapes, forward, both gradients, directional`, async () => {
    await checkAll('where', 5, (rng) => {
      const out = randomShape(rng, randomInt(rng, 1, 4), 20);
      const sub = (): number[] => out.slice(randomInt(rng, 0, out.length - 1)).map((d) => (rng() < 0.3 ? 1 : d));
      const cond = ref(sub(), () => (rng() < 0.5 ? 1 : 0));
      const a = real(rng, sub());
      const b = real(rng, rng() < 0.5 ? [...out] : sub());
      return {
        c: { inputs: [a, b], attrs: {}, run: ([ta, tb]) => ops.where(toGpu(engine, cond), ta!, tb!) },
        ref: { ...refOp('where', ([x, y]) => refWhere(cond, x!, y!), ([x, y], g) => refWhereVjp(cond, x!, y!, g)), arity: 2 },
      };
    });
  });

  it('keeps NaN and Inf of the operand not chosen out of the result and of the gradients', async () => {
    const cond = engine.tensor([1, 0, 1, 0]);
    const a = engine.tensor([1, NaN, 3, Infinity]);
    const b = engine.tensor([Infinity, 2, NaN, 4]);
    a.requiresGrad = true;
    b.requiresGrad = true;
    const y = engine.scope(() => {
      const out = ops.where(cond, a, b).keep();
      engine.backward(ops.sum(out));
      return out;
    });
    expect([...(await y.read())]).toEqual([1, 2, 3, 4]);
    expect([...(await a.grad!.read())]).toEqual([1, 0, 1, 0]);
    expect([...(await b.grad!.read())]).toEqual([0, 1, 0, 1]);
    for (const t of [cond, a, b, y]) t.dispose();
  });
});

describe('gather (index-select) vs float64', () => {
  it(`any axis, indices of any shape with repeats and out-of-range ones: ${CASES} random shapes, forward, backward, directional`, async () => {
    await checkAll('gather', 9, (rng) => {
      const shape = randomShape(rng, randomInt(rng, 1, 3), 30);
      const axis = randomInt(rng, 0, shape.length - 1);
      const n = shape[axis]!;
      const indexShape = randomShape(rng, randomInt(rng, 1, 2), 9);
      const indices = Array.from({ length: indexShape.reduce((a, b) => a * b, 1) }, () => (rng() < 0.1 ? [-1, n, n + 5][randomInt(rng, 0, 2)]! : randomInt(rng, 0, n - 1)));
      return {
        c: { inputs: [real(rng, shape)], attrs: { axis }, run: ([t]) => ops.gather(t!, intTensor(indices, indexShape), axis) },
        ref: refOp('gather', ([a]) => refGather(a!, indices, indexShape, axis), ([a], g) => [refGatherVjp(a!, indices, axis, g)]),
      };
    });
  });
});

describe('maxPool2d vs float64', () => {
  const poolCase = (rng: Rng, geom: RefPoolGeom, shape: number[]): { c: OpCase; ref: RefOp } => {
    // Distinct values, so each window has one maximum and a finite difference does not cross a tie.
    const perm = Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i).sort(() => rng() - 0.5);
    const x = ref(shape, (i) => Math.fround((perm[i]! - perm.length / 2) / perm.length));
    return {
      c: { inputs: [x], attrs: {}, describe: geom, run: ([t]) => ops.maxPool2d(t!, { size: [geom.kh, geom.kw], stride: [geom.sh, geom.sw], pad: geom.pad }) },
      ref: refOp('maxPool2d', ([a]) => refMaxPool2d(a!, geom).y, ([a], g) => [refMaxPool2dVjp(a!, geom, g)]),
    };
  };

  it(`windows, strides (overlapping too) and padding: ${CASES} random geometries, forward, backward, directional`, async () => {
    await checkAll('maxPool2d', 13, (rng) => {
      const kh = randomInt(rng, 1, 3);
      const kw = randomInt(rng, 1, 3);
      const geom: RefPoolGeom = { kh, kw, sh: randomInt(rng, 1, 3), sw: randomInt(rng, 1, 3), pad: [randomInt(rng, 0, kh - 1), randomInt(rng, 0, kh - 1), randomInt(rng, 0, kw - 1), randomInt(rng, 0, kw - 1)] };
      return poolCase(rng, geom, [randomInt(rng, 1, 3), randomInt(rng, kh, 13), randomInt(rng, kw, 11), [1, 3, 4, 5, 8, 17][randomInt(rng, 0, 5)]!]);
    });
  });

  it('both backward paths (windows tiling the image: one invocation per window; otherwise per input pixel), 1 and 4 channels per invocation', async () => {
    const labels: string[] = [];
    engine.runner.onDispatch = (_k, label) => {
      if (label?.startsWith('maxPool2d.backward')) labels.push(label);
    };
    try {
      const rng = mulberry32(14);
      const cases: [RefPoolGeom, number[]][] = [
        [{ kh: 2, kw: 2, sh: 2, sw: 2, pad: [0, 0, 0, 0] }, [3, 10, 6, 8]],
        [{ kh: 3, kw: 2, sh: 3, sw: 2, pad: [0, 0, 0, 0] }, [2, 9, 4, 3]],
        [{ kh: 2, kw: 2, sh: 2, sw: 2, pad: [0, 0, 0, 0] }, [2, 7, 6, 4]],
        [{ kh: 3, kw: 3, sh: 2, sw: 2, pad: [1, 1, 1, 1] }, [2, 8, 7, 12]],
      ];
      for (const [geom, shape] of cases) {
        const { c, ref: r } = poolCase(rng, geom, shape);
        await checkOpCase(engine, 'maxPool2d', r, c, rng);
      }
    } finally {
      engine.runner.onDispatch = null;
    }
    expect(labels, 'backward variants run').toEqual(['maxPool2d.backward:tiles', 'maxPool2d.backward:tiles', 'maxPool2d.backward', 'maxPool2d.backward']);
  });

  it('refuses padding as large as the window and a window larger than the padded image', async () => {
    const x = engine.zeros([1, 4, 4, 2]);
    expect(() => ops.maxPool2d(x, { size: 2, pad: 2 })).toThrow(/maxPool2d: padding \[2, 2, 2, 2\] must be below the window 2x2/);
    expect(() => ops.maxPool2d(x, { size: [5, 1] })).toThrow(/maxPool2d: the 5x1 window does not fit in \[1, 4, 4, 2\]/);
    expect(() => ops.maxPool2d(engine.zeros([4, 4, 2]), { size: 2 })).toThrow(/must be NHWC/);
    x.dispose();
  });
});

describe('layerNorm vs float64', () => {
  for (const affine of [true, false]) {
    it(`${affine ? 'with gamma and beta' : 'without affine'}: ${CASES} random shapes, forward, backward (x${affine ? ', gamma, beta' : ''}), directional`, async () => {
      await checkAll(`layerNorm${affine ? '' : '(no affine)'}`, affine ? 17 : 19, (rng) => {
        const shape = randomShape(rng, randomInt(rng, 1, 3), 40);
        // Not C = 2: two normalised values are +-sqrt(var / (var + eps)), so the true gradient is O(eps / var) and
        // what float32 gives is its cancellation (3e-4 relative measured here; docs/API.md says so).
        shape[shape.length - 1] = [3, 5, 33, 70][randomInt(rng, 0, 3)]!;
        const C = shape[shape.length - 1]!;
        const eps = 1e-5;
        const x = real(rng, shape, 3);
        const inputs = affine ? [x, real(rng, [C]), real(rng, [C])] : [x];
        return {
          c: { inputs, attrs: {}, describe: { eps }, run: ([t, g, b]) => ops.layerNorm(t!, g ?? null, b ?? null, eps) },
          ref: { ...refOp('layerNorm', (xs) => refLayerNorm(xs[0]!, xs[1] ?? null, xs[2] ?? null, eps), (xs, g) => refLayerNormVjp(xs[0]!, xs[1] ?? null, xs[2] ?? null, eps, g)), arity: inputs.length },
        };
      });
    });
  }
});

describe('the non-differentiable ops, exactly', () => {
  it('argmax / argmin along each axis of random shapes (ties: the first), as int32', async () => {
    const rng = mulberry32(23);
    for (let k = 0; k < CASES; k++) {
      const shape = randomShape(rng, randomInt(rng, 1, 4), 30);
      // Few distinct values: ties are common.
      const x = ref(shape, () => randomInt(rng, -3, 3));
      const t = toGpu(engine, x);
      for (let axis = 0; axis < shape.length; axis++) {
        for (const min of [false, true]) {
          const y = min ? ops.argmin(t, axis) : ops.argmax(t, axis);
          expect(y.dtype).toBe('int32');
          const want = refArgReduce(x, axis, min);
          expect(y.shape).toEqual(want.shape);
          expect([...(await y.readInt32())], `${min ? 'argmin' : 'argmax'} over axis ${axis} of [${shape}]`).toEqual([...want.data]);
          y.dispose();
        }
      }
      t.dispose();
    }
  });

  it('comparisons with broadcasting, on float32 and on int32 operands, give 0 / 1 and record nothing', async () => {
    const rng = mulberry32(29);
    for (const op of Object.keys(REF_COMPARE) as (keyof typeof REF_COMPARE & string)[]) {
      const out = randomShape(rng, randomInt(rng, 1, 3), 20);
      const a = ref(out, () => randomInt(rng, -2, 2));
      const b = ref(out.map((d) => (rng() < 0.4 ? 1 : d)), () => randomInt(rng, -2, 2));
      const fn = ops[op as 'equal'] as (x: Tensor, y: Tensor) => Tensor;
      const want = [...refCompare(op, a, b).data];
      const ta = toGpu(engine, a, true);
      const tb = toGpu(engine, b);
      const y = fn(ta, tb);
      expect(y.requiresGrad, `${op}: a comparison is a constant`).toBe(false);
      expect([...(await y.read())], `${op} float32 [${out}] vs [${b.shape}]`).toEqual(want);
      const ia = ops.cast(ta, 'int32');
      const ib = ops.cast(tb, 'int32');
      const yi = fn(ia, ib);
      expect([...(await yi.read())], `${op} int32 [${out}] vs [${b.shape}]`).toEqual(want);
      for (const t of [ta, tb, y, ia, ib, yi]) t.dispose();
    }
  });

  it('oneHot of int32 indices (out of range: a zero row); cast both ways', async () => {
    const idx = [0, 2, 9, -1, 4, 1, 3];
    const t = intTensor(idx, [7]);
    const y = ops.oneHot(t, 5);
    expect(y.shape).toEqual([7, 5]);
    expect([...(await y.read())]).toEqual([...refOneHot(idx, [7], 5).data]);
    const f = ops.cast(engine.tensor([-2.7, -0.5, 0.5, 2.9, 1e10, -1e10, 16777216]), 'int32');
    expect([...(await f.readInt32())], 'float32 -> int32 rounds toward zero and saturates (at the largest float32 below 2^31)').toEqual([-2, 0, 0, 2, 2147483520, -2147483648, 16777216]);
    expect([...(await ops.cast(f, 'float32').read())]).toEqual([-2, 0, 0, 2, 2147483520, -2147483648, 16777216]);
    expect(() => ops.oneHot(engine.tensor([1, 2]), 3)).toThrow(/oneHot: indices \[2\] .* is float32; int32 is expected/);
    for (const u of [t, y, f]) u.dispose();
  });
});

describe('int32 tensors', () => {
  it('are created from Int32Array (or dtype int32), read back exactly, written, and viewed', async () => {
    const big = [2147483647, -2147483648, 16777217, 0, -1];
    const t = engine.tensor(Int32Array.from(big));
    expect(t.dtype).toBe('int32');
    expect([...(await t.readInt32())]).toEqual(big);
    expect([...(await t.read())].slice(3)).toEqual([0, -1]);
    engine.write(t, [5, 6, 7, 8, 9]);
    expect([...(await ops.reshape(t, [5, 1]).readInt32())]).toEqual([5, 6, 7, 8, 9]);
    const u = engine.tensor([1, 2, 3], [3], 'int32');
    expect(u.dtype).toBe('int32');
    expect(() => engine.tensor([1.5], [1], 'int32')).toThrow(/int32 value 1.5 at index 0 is not an integer/);
    expect(() => engine.write(u, [1, 2, 2 ** 31])).toThrow(/int32 value 2147483648 at index 2/);
    await expect(engine.tensor([1]).readInt32()).rejects.toThrow(/readInt32: tensor \[1\] .* is float32; use read\(\)/);
    t.dispose();
    u.dispose();
  });

  it('never require a gradient, and kernels refuse a tensor of the other element type (naming op, kernel, binding)', () => {
    const labels = intTensor([1, 2, 3], [3]);
    expect(() => (labels.requiresGrad = true)).toThrow(/requiresGrad: tensor \[3\] .* is int32; only float32 tensors have gradients/);
    expect(() => ops.exp(labels)).toThrow(/exp: kernel 'unary': binding 'x' holds f32 elements and takes float32 tensors, but was given int32 .*ops\.cast/);
    const x = engine.tensor([1, 2, 3]);
    expect(() => engine.dispatch({ kernel: KERNELS.one_hot, params: { n: 3, depth: 1 }, inputs: { indices: x }, outputs: { y: engine.zeros([3]) }, workgroups: 1 }))
      .toThrow(/kernel 'one_hot': binding 'indices' holds i32 elements and takes int32 tensors, but was given float32/);
    expect(() => ops.softmax(labels)).toThrow(/softmax: input \[3\] .* is int32; float32 is expected/);
    labels.dispose();
    x.dispose();
  });
});
