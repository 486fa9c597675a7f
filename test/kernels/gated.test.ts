// Gated-resnet pieces (engine/ops/gated.ts) against the float64 reference (test/reference/gated.ts):
// concatElu (plain and fused with dropout), gate, dropout: forward relErr <= 1e-5, backward <= 1e-4 and the
// directional check <= 1e-4 at >= 3 random shapes (channel counts that are not multiples of 4/64/256, and
// multiples of 4: the kernels' 4-elements-per-invocation path); dropout
// statistics, exact scaling, determinism, backward mask == forward mask, identity when not training.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine, Tensor } from '../../engine/index.js';
import { concatElu, concatEluPair, eluPair, gate } from '../../engine/generative/index.js';
import { ops } from '../../engine/index.js';
import { compare, directionalCheck, mulberry32, randomData, randomInt, randomShape, type Rng } from '../reference/gradcheck.js';
import { type RefTensor, ref, shapeStr } from '../reference/tensor.js';
import { dropoutScale, refConcatElu, refConcatEluVjp, refDropout, refDropoutMask, refGate, refGateVjp, type RefNoise } from '../reference/gated.js';
import { disposeTestEngine, roundF32, testEngine, toGpu } from '../helpers/gpu.js';
import { FWD_TOL, BWD_TOL, DIR_TOL } from '../helpers/opcheck.js';

const { dropout } = ops;


let engine: Engine;
beforeAll(async () => {
  engine = await testEngine();
});
afterAll(disposeTestEngine);

/** Random NHWC-like shape [..., C] with a small total size; the channel count is awkward. */
function shapeWithChannels(rng: Rng, c: number): number[] {
  const lead = randomShape(rng, randomInt(rng, 1, 3), 7);
  return [...lead, c];
}

/**
 * Channel counts: ones that are not multiples of 4/64/256, and multiples of 4, where the kernels take 4 elements
 * per invocation (GROUP 4, sharing a row). Every test below runs with both sets.
 */
const CHANNEL_SETS: [string, number[]][] = [
  ['odd channel counts', [1, 3, 5, 13, 33, 65]],
  ['channels multiples of 4', [4, 8, 16, 36, 64, 68]],
];

/** Run op on GPU inputs, backprop cotangent g, return output and input gradients (float32 -> number[]). */
async function runWithGrad(inputs: RefTensor[], g: RefTensor, op: (xs: Tensor[]) => Tensor): Promise<{ y: Float32Array; grads: Float32Array[] }> {
  return engine.asyncScope(async () => {
    const xs = inputs.map((t) => toGpu(engine, t, true).keep());
    try {
      const y = op(xs);
      const yv = await y.read();
      engine.backward(y, toGpu(engine, g));
      const grads = await Promise.all(xs.map((x) => x.grad!.read()));
      return { y: yv, grads };
    } finally {
      for (const x of xs) x.dispose();
    }
  });
}

function checkAll(
  op: string,
  inputs: RefTensor[],
  g: RefTensor,
  f: (xs: RefTensor[]) => RefTensor,
  vjp: (xs: RefTensor[], g: RefTensor) => RefTensor[],
  got: { y: Float32Array; grads: Float32Array[] },
  rng: Rng,
): void {
  const shapes = inputs.map((t) => t.shape);
  const y = f(inputs);
  const fw = compare(`${op} forward`, shapes, got.y, y.data, FWD_TOL);
  expect(fw.err, fw.message).toBeLessThanOrEqual(FWD_TOL);
  const refGrads = vjp(inputs, g);
  refGrads.forEach((r, i) => {
    const c = compare(`${op} backward d(input ${i})`, shapes, got.grads[i]!, r.data, BWD_TOL);
    expect(c.err, c.message).toBeLessThanOrEqual(BWD_TOL);
  });
  const tangents = inputs.map((t) => randomData(rng, t.shape));
  const d = directionalCheck(f, inputs, tangents, g, got.grads);
  expect(d.relErr, `${op} ${shapes.map((s) => shapeStr(s)).join(' x ')}: directional check relErr=${d.relErr.toExponential(3)} (lhs ${d.lhs}, rhs ${d.rhs})`).toBeLessThanOrEqual(DIR_TOL);
}

describe('concatElu', () => {
  for (const [set, CHANNELS] of CHANNEL_SETS) {
    it(`matches the float64 reference forward and backward at random shapes (${set})`, async () => {
      const rng = mulberry32(11);
      for (let k = 0; k < 4; k++) {
        const shape = shapeWithChannels(rng, CHANNELS[randomInt(rng, 0, CHANNELS.length - 1)]!);
        const x = roundF32(randomData(rng, shape, -3, 3));
        const g = roundF32(randomData(rng, [...shape.slice(0, -1), 2 * shape[shape.length - 1]!]));
        const got = await runWithGrad([x], g, ([a]) => concatElu(a!));
        checkAll('concatElu', [x], g, ([a]) => refConcatElu(a!), ([a], gg) => [refConcatEluVjp(a!, gg)], got, rng);
      }
    });
  }

  for (const [set, CHANNELS] of CHANNEL_SETS) {
    it(`fused with dropout matches the reference and equals dropout(concatElu(x)) (${set})`, async () => {
      const rng = mulberry32(12);
      for (let k = 0; k < 3; k++) {
        const shape = shapeWithChannels(rng, CHANNELS[randomInt(rng, 0, CHANNELS.length - 1)]!);
        const noise: RefNoise = { p: [0.5, 0.3, 0.1][k]!, seed: 1000 + k, stream: 7 * k + 3 };
        const x = roundF32(randomData(rng, shape, -3, 3));
        const g = roundF32(randomData(rng, [...shape.slice(0, -1), 2 * shape[shape.length - 1]!]));
        const got = await runWithGrad([x], g, ([a]) => concatElu(a!, { dropout: noise }));
        checkAll('concatElu+dropout', [x], g, ([a]) => refConcatElu(a!, noise), ([a], gg) => [refConcatEluVjp(a!, gg, noise)], got, rng);
        const unfused = await engine.asyncScope(async () => {
          const xt = toGpu(engine, x);
          const y = await dropout(concatElu(xt), noise.p, { ...noise, training: true }).read();
          xt.dispose();
          return y;
        });
        expect([...got.y], `concatElu+dropout ${shapeStr(shape)}: fused output differs from dropout(concatElu(x))`).toEqual([...unfused]);
      }
    });
  }

  it('rejects a bad dropout probability', () => {
    const x = engine.zeros([2, 3]);
    expect(() => concatElu(x, { dropout: { p: 1, seed: 1, stream: 0 } })).toThrow(/\[0, 1\)/);
    x.dispose();
  });
});

describe('concatEluPair', () => {
  for (const [set, CHANNELS] of CHANNEL_SETS) {
    it(`equals concatElu of the channel concatenation (float64 reference), gradients split back to both inputs (${set})`, async () => {
      const rng = mulberry32(12);
      for (let k = 0; k < 4; k++) {
        const lead = randomShape(rng, randomInt(rng, 1, 3), 6);
        const [c1, c2] = [CHANNELS[randomInt(rng, 0, 3)]!, CHANNELS[randomInt(rng, 0, 3)]!];
        const a = roundF32(randomData(rng, [...lead, c1], -3, 3));
        const b = roundF32(randomData(rng, [...lead, c2], -3, 3));
        const cat = (xs: RefTensor[]): RefTensor => ref([...lead, c1 + c2], (i) => {
          const [r, j] = [Math.floor(i / (c1 + c2)), i % (c1 + c2)];
          return j < c1 ? xs[0]!.data[r * c1 + j]! : xs[1]!.data[r * c2 + j - c1]!;
        });
        const g = roundF32(randomData(rng, [...lead, 2 * (c1 + c2)]));
        const got = await runWithGrad([a, b], g, ([x, y]) => concatEluPair(x!, y!));
        const vjp = (xs: RefTensor[], gg: RefTensor): RefTensor[] => {
          const d = refConcatEluVjp(cat(xs), gg);
          return [ref([...lead, c1], (i) => d.data[Math.floor(i / c1) * (c1 + c2) + (i % c1)]!), ref([...lead, c2], (i) => d.data[Math.floor(i / c2) * (c1 + c2) + c1 + (i % c2)]!)];
        };
        checkAll(`concatEluPair [${lead}] (${c1} + ${c2} channels)`, [a, b], g, (xs) => refConcatElu(cat(xs)), vjp, got, rng);
      }
    });
  }
});

describe('eluPair', () => {
  for (const [set, CHANNELS] of CHANNEL_SETS) {
    it(`equals elu of the channel concatenation (float64), gradients split back to both inputs (${set})`, async () => {
      const rng = mulberry32(13);
      for (let k = 0; k < 3; k++) {
        const lead = randomShape(rng, randomInt(rng, 1, 3), 6);
        const [c1, c2] = [CHANNELS[randomInt(rng, 0, 3)]!, CHANNELS[randomInt(rng, 0, 3)]!];
        const a = roundF32(randomData(rng, [...lead, c1], -3, 3));
        const b = roundF32(randomData(rng, [...lead, c2], -3, 3));
        const C = c1 + c2;
        const at = (xs: RefTensor[], i: number): number => {
          const [r, j] = [Math.floor(i / C), i % C];
          return j < c1 ? xs[0]!.data[r * c1 + j]! : xs[1]!.data[r * c2 + j - c1]!;
        };
        const elu = (v: number): number => (v > 0 ? v : Math.expm1(v));
        const dElu = (v: number): number => (v > 0 ? 1 : Math.exp(v));
        const g = roundF32(randomData(rng, [...lead, C]));
        const got = await runWithGrad([a, b], g, ([x, y]) => eluPair(x!, y!));
        const f = (xs: RefTensor[]): RefTensor => ref([...lead, C], (i) => elu(at(xs, i)));
        const vjp = (xs: RefTensor[], gg: RefTensor): RefTensor[] => [
          ref([...lead, c1], (i) => { const q = Math.floor(i / c1) * C + (i % c1); return gg.data[q]! * dElu(at(xs, q)); }),
          ref([...lead, c2], (i) => { const q = Math.floor(i / c2) * C + c1 + (i % c2); return gg.data[q]! * dElu(at(xs, q)); }),
        ];
        checkAll(`eluPair [${lead}] (${c1} + ${c2} channels)`, [a, b], g, f, vjp, got, rng);
      }
    });
  }
});

describe('gate', () => {
  for (const [set, CHANNELS] of CHANNEL_SETS) {
    it(`matches the float64 reference forward and backward at random shapes (${set})`, async () => {
      const rng = mulberry32(21);
      for (let k = 0; k < 4; k++) {
        const f = CHANNELS[randomInt(rng, 0, CHANNELS.length - 1)]!;
        const shape = shapeWithChannels(rng, f);
        const c2 = roundF32(randomData(rng, [...shape.slice(0, -1), 2 * f], -4, 4));
        const res = roundF32(randomData(rng, shape));
        const g = roundF32(randomData(rng, shape));
        const got = await runWithGrad([c2, res], g, ([a, b]) => gate(a!, b!));
        checkAll('gate', [c2, res], g, ([a, b]) => refGate(a!, b!), ([a, b], gg) => refGateVjp(a!, b!, gg), got, rng);
      }
    });
  }

  it('checks shapes', () => {
    const c2 = engine.zeros([2, 6]);
    const r = engine.zeros([2, 4]);
    expect(() => gate(c2, r)).toThrow(/twice the channels/);
    c2.dispose();
    r.dispose();
  });
});

describe('dropout', () => {
  it('matches the reference mask forward and backward at random shapes', async () => {
    const rng = mulberry32(31);
    for (let k = 0; k < 3; k++) {
      const shape = randomShape(rng, randomInt(rng, 1, 4), 9);
      const noise: RefNoise = { p: [0.2, 0.5, 0.75][k]!, seed: 2 ** 40 + 17 * k, stream: k };
      const x = roundF32(randomData(rng, shape, -2, 2));
      const g = roundF32(randomData(rng, shape));
      const got = await runWithGrad([x], g, ([a]) => dropout(a!, noise.p, { ...noise, training: true }));
      checkAll('dropout', [x], g, ([a]) => refDropout(a!, noise), (_xs, gg) => [refDropout(gg, noise)], got, rng);
    }
  });

  it('keeps 1-p of a large tensor (4 sigma), scales kept values exactly, is deterministic, and its backward uses the forward mask', async () => {
    const n = 1 << 17;
    const p = 0.3;
    const s = dropoutScale(p);
    const xs = new Float32Array(n);
    const rng = mulberry32(5);
    for (let i = 0; i < n; i++) xs[i] = Math.fround(0.5 + rng()); // never 0
    const x = engine.tensor(xs).keep();
    x.requiresGrad = true;
    const y1 = dropout(x, p, { seed: 99, stream: 4, training: true });
    const a = await y1.read();
    let kept = 0;
    for (let i = 0; i < n; i++) {
      if (a[i] !== 0) {
        kept++;
        if (a[i] !== Math.fround(xs[i]! * s)) throw new Error(`dropout [${n}]: kept element ${i} is ${a[i]}, expected x*fround(1/(1-p)) = ${Math.fround(xs[i]! * s)}`);
      }
    }
    const sigma = Math.sqrt(n * p * (1 - p));
    expect(Math.abs(kept - n * (1 - p)), `dropout [${n}] p=${p}: kept ${kept}, expected ${n * (1 - p)} +- 4*${sigma.toFixed(1)}`).toBeLessThan(4 * sigma);
    const mask = refDropoutMask(n, p, 99, 4);
    let mismatch = 0;
    for (let i = 0; i < n; i++) if ((a[i] !== 0 ? 1 : 0) !== mask[i]) mismatch++;
    expect(mismatch, `dropout [${n}]: ${mismatch} mask elements differ from the CPU Philox reference`).toBe(0);
    // deterministic for (seed, stream); another stream gives another mask
    const b = await engine.asyncScope(async () => dropout(x, p, { seed: 99, stream: 4, training: true }).read());
    expect(b.every((v, i) => v === a[i]), 'dropout: same seed/stream must give the same output').toBe(true);
    const c = await engine.asyncScope(async () => dropout(x, p, { seed: 99, stream: 5, training: true }).read());
    expect(c.some((v, i) => (v === 0) !== (a[i] === 0)), 'dropout: another stream must give another mask').toBe(true);
    // backward with g = 1: dx = mask * scale, the same mask
    engine.backward(y1, engine.ones([n]));
    const dx = await x.grad!.read();
    let bad = 0;
    for (let i = 0; i < n; i++) if (dx[i] !== (a[i] !== 0 ? s : 0)) bad++;
    expect(bad, `dropout [${n}] backward: ${bad} elements do not follow the forward mask`).toBe(0);
    x.dispose();
  });

  it('is the identity when not training or p = 0', async () => {
    const x = engine.tensor([1, -2, 3]);
    expect(dropout(x, 0.5, { seed: 1, stream: 0, training: false })).toBe(x);
    expect(dropout(x, 0, { seed: 1, stream: 0, training: true })).toBe(x);
    const plain = [...(await concatElu(x).read())];
    for (const d of [{ p: 0, seed: 1, stream: 0 }, { p: 0.5, seed: 1, stream: 0, training: false }]) {
      const y = concatElu(x, { dropout: d });
      expect([...(await y.read())], `concatElu with dropout ${JSON.stringify(d)} must be the plain op`).toEqual(plain);
      y.dispose();
    }
    x.dispose();
  });
});
