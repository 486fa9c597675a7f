// Gaussian ops and free bits (engine/ops/gaussian.ts) against float64 references (test/reference/gaussian.ts):
// forward <= 1e-5, gradients <= 1e-4, directional <= 1e-4 on random shapes; KL stable when q ~ p; freeBitsKL
// with channels below and above the floor (zero gradient below).
import { afterAll, describe, expect, it } from 'vitest';
import { ops, type Engine, type Tensor } from '../../engine/index.js';
import { freeBitsKL, gaussianKL, gaussianLogDensity, gaussianSample } from '../../engine/generative/index.js';
import {
  refFreeBitsObjective, refFreeBitsObjectiveVjp, refGaussianKL, refGaussianKLVjp, refGaussianLogDensity, refGaussianLogDensityVjp,
  refGaussianSample, refGaussianSampleVjp, refTrueKL, refChannelKL,
} from '../reference/gaussian.js';
import { type RefTensor, ref, shapeStr } from '../reference/tensor.js';
import { compare, directionalCheck, mulberry32, randomData, type Rng } from '../reference/gradcheck.js';
import { disposeTestEngine, roundF32, testEngine, toGpu } from '../helpers/gpu.js';
import { FWD_TOL, BWD_TOL, DIR_TOL } from '../helpers/opcheck.js';

let engine: Engine;

afterAll(async () => {
  await disposeTestEngine();
});

const SHAPES = [[2, 3, 5, 7], [1, 13], [4, 9, 9, 5], [257], [2, 4, 4, 32]];

type Fwd = (xs: RefTensor[]) => RefTensor;
type Vjp = (xs: RefTensor[], g: RefTensor) => RefTensor[];

async function checkOp(name: string, rng: Rng, inputs: RefTensor[], run: (xs: Tensor[]) => Tensor, fwd: Fwd, vjp: Vjp): Promise<void> {
  const shape = inputs[0]!.shape;
  const label = `${name} ${shapeStr(shape)}`;
  await engine.asyncScope(async () => {
    const xs = inputs.map((t) => toGpu(engine, t, true));
    const y = run(xs);
    const expected = fwd(inputs);
    expect(y.shape, `${label}: output shape`).toEqual(expected.shape);
    const f = compare(`${label} forward`, shape, await y.read(), expected.data, FWD_TOL);
    expect(f.err, f.message).toBeLessThanOrEqual(FWD_TOL);
    const cot = roundF32(randomData(rng, shape));
    engine.backward(y, toGpu(engine, cot));
    const want = vjp(inputs, cot);
    const got: Float32Array[] = [];
    for (let i = 0; i < xs.length; i++) {
      const d = await xs[i]!.grad!.read();
      got.push(d);
      const b = compare(`${label} backward (input ${i})`, shape, d, want[i]!.data, BWD_TOL);
      expect(b.err, b.message).toBeLessThanOrEqual(BWD_TOL);
    }
    const dir = directionalCheck(fwd, inputs, inputs.map((t) => randomData(rng, t.shape)), cot, got);
    expect(dir.relErr, `${label}: directional ${dir.lhs} vs ${dir.rhs}`).toBeLessThanOrEqual(DIR_TOL);
    for (const x of xs) x.grad?.dispose();
  });
}

describe('Gaussian ops', () => {
  it('gaussianSample: forward, backward, directional (eps from engine.normal and random)', async () => {
    engine ??= await testEngine();
    const rng = mulberry32(0x6a1);
    for (const shape of SHAPES) {
      const mean = roundF32(randomData(rng, shape, -2, 2));
      const logStd = roundF32(randomData(rng, shape, -3, 1));
      const epsG = engine.normal(shape, 0, 1, { seed: 77, stream: shape.length });
      const eps = ref(shape, await epsG.read());
      epsG.dispose();
      await checkOp('gaussianSample', rng, [mean, logStd, eps], ([m, l, e]) => gaussianSample(m!, l!, e!),
        ([m, l, e]) => refGaussianSample(m!, l!, e!), ([m, l, e], g) => refGaussianSampleVjp(m!, l!, e!, g));
    }
  });

  it('gaussianLogDensity: forward, backward, directional', async () => {
    engine ??= await testEngine();
    const rng = mulberry32(0x6a2);
    for (const shape of SHAPES) {
      const z = roundF32(randomData(rng, shape, -3, 3));
      const mean = roundF32(randomData(rng, shape, -2, 2));
      const logStd = roundF32(randomData(rng, shape, -2, 1));
      await checkOp('gaussianLogDensity', rng, [z, mean, logStd], ([a, b, c]) => gaussianLogDensity(a!, b!, c!),
        ([a, b, c]) => refGaussianLogDensity(a!, b!, c!), ([a, b, c], g) => refGaussianLogDensityVjp(a!, b!, c!, g));
    }
  });

  it('gaussianKL: forward, backward, directional; general and q ~ p', async () => {
    engine ??= await testEngine();
    const rng = mulberry32(0x6a3);
    for (const [k, shape] of SHAPES.entries()) {
      const close = k % 2 === 1;
      const mp = roundF32(randomData(rng, shape, -2, 2));
      const lsp = roundF32(randomData(rng, shape, -2, 1));
      // q ~ p: KL ~ 1e-6, where log(sp/sq) + sq^2/(2 sp^2) - 1/2 cancels in float32 unless formed carefully.
      const mq = close ? roundF32(ref(shape, (i) => mp.data[i]! + 2e-3 * (rng() - 0.5))) : roundF32(randomData(rng, shape, -2, 2));
      const lsq = close ? roundF32(ref(shape, (i) => lsp.data[i]! + 2e-3 * (rng() - 0.5))) : roundF32(randomData(rng, shape, -2, 1));
      await checkOp(`gaussianKL${close ? ' (q ~ p)' : ''}`, rng, [mq, lsq, mp, lsp], ([a, b, c, d]) => gaussianKL(a!, b!, c!, d!),
        ([a, b, c, d]) => refGaussianKL(a!, b!, c!, d!), ([a, b, c, d], g) => refGaussianKLVjp(a!, b!, c!, d!, g));
    }
  });

  it('gaussianKL equals the Monte-Carlo mean of log q - log p (sanity)', async () => {
    engine ??= await testEngine();
    await engine.asyncScope(async () => {
      const n = 200_000;
      const mq = engine.full([n], 0.3);
      const lsq = engine.full([n], -0.4);
      const mp = engine.full([n], -0.2);
      const lsp = engine.full([n], 0.1);
      const z = gaussianSample(mq, lsq, engine.normal([n], 0, 1, { seed: 5 }));
      const lr = ops.sub(gaussianLogDensity(z, mq, lsq), gaussianLogDensity(z, mp, lsp));
      const mc = (await ops.mean(lr).read())[0]!;
      const exact = (await gaussianKL(mq, lsq, mp, lsp).read())[0]!;
      expect(Math.abs(mc - exact), `gaussianKL ${exact} vs Monte-Carlo ${mc}`).toBeLessThan(0.01);
    });
  });
});

describe('freeBitsKL', () => {
  it('objective and trueKL: forward, gradient zero below the floor, directional', async () => {
    engine ??= await testEngine();
    const rng = mulberry32(0xfb);
    const cases: [number[], number][] = [[[3, 4, 5, 6], 0.5], [[2, 7, 3, 5], 0.25], [[16, 2, 2, 32], 0.1], [[1, 1, 1, 3], 1.0], [[2, 17, 19, 7], 0.3], [[3, 9, 9, 96], 0.2]];
    for (const [shape, lambda] of cases) {
      const [B, H, W, Z] = shape as [number, number, number, number];
      // Channel targets spread around the floor: clearly below, just below, just above, well above, zero.
      const targets = Array.from({ length: Z }, (_, c) => lambda * [0.1, 0.9, 1.1, 3, 0, 0.6, 1.7][c % 7]!);
      const kl = roundF32(ref(shape, (i) => (targets[i % Z]! / (H * W)) * (0.5 + rng())));
      const k = refChannelKL(kl);
      const below = k.map((v) => v <= lambda);
      const label = `freeBitsKL ${shapeStr(shape)} lambda=${lambda}`;
      expect(below.some((x) => x) && below.some((x) => !x), `${label}: test data must have channels on both sides`).toBe(true);
      await engine.asyncScope(async () => {
        const x = toGpu(engine, kl, true);
        const { objective, trueKL, channelKL } = freeBitsKL(x, lambda);
        expect(objective.shape, `${label}: objective is a scalar`).toEqual([]);
        expect(trueKL.shape, `${label}: trueKL shape`).toEqual([B]);
        const fo = compare(`${label} objective`, shape, await objective.read(), refFreeBitsObjective(kl, lambda).data, FWD_TOL);
        expect(fo.err, fo.message).toBeLessThanOrEqual(FWD_TOL);
        const ft = compare(`${label} trueKL`, shape, await trueKL.read(), refTrueKL(kl).data, FWD_TOL);
        expect(ft.err, ft.message).toBeLessThanOrEqual(FWD_TOL);
        const fc = compare(`${label} channelKL`, shape, await channelKL.read(), k, FWD_TOL);
        expect(fc.err, fc.message).toBeLessThanOrEqual(FWD_TOL);

        trueKL.keep();
        const gObj = Math.fround(0.5 + rng());
        engine.backward(objective, engine.tensor([gObj], []));
        const d = await x.grad!.read();
        const want = refFreeBitsObjectiveVjp(kl, lambda, gObj);
        const b = compare(`${label} d(objective)/d(kl)`, shape, d, want.data, BWD_TOL);
        expect(b.err, b.message).toBeLessThanOrEqual(BWD_TOL);
        for (let i = 0; i < d.length; i++) {
          if (below[i % Z]) expect(d[i], `${label}: channel ${i % Z} (k=${k[i % Z]} <= floor) must get zero gradient`).toBe(0);
        }
        const dir = directionalCheck((xs) => refFreeBitsObjective(xs[0]!, lambda), [kl], [randomData(rng, shape)], [gObj], [d]);
        expect(dir.relErr, `${label}: directional ${dir.lhs} vs ${dir.rhs}`).toBeLessThanOrEqual(DIR_TOL);
        x.grad!.dispose();
        x.grad = null;

        // trueKL's gradient: its cotangent broadcast over (h, w, z).
        const xt = toGpu(engine, kl, true);
        const t2 = freeBitsKL(xt, lambda).trueKL;
        const cot = roundF32(randomData(rng, [B]));
        engine.backward(t2, toGpu(engine, cot));
        const dt = await xt.grad!.read();
        const n = H * W * Z;
        const bt = compare(`${label} d(trueKL)/d(kl)`, shape, dt, Float64Array.from({ length: B * n }, (_, i) => cot.data[Math.floor(i / n)]!), BWD_TOL);
        expect(bt.err, bt.message).toBeLessThanOrEqual(BWD_TOL);
        xt.grad!.dispose();
        trueKL.dispose();
      });
    }
  });

  it('all channels above the floor: objective = batch-mean true KL', async () => {
    engine ??= await testEngine();
    await engine.asyncScope(async () => {
      const rng = mulberry32(0xfc);
      const kl = roundF32(randomData(rng, [4, 3, 3, 8], 0.5, 1.5));
      const { objective, trueKL } = freeBitsKL(toGpu(engine, kl), 0.1);
      const t = await trueKL.read();
      const meanKL = t.reduce((s, v) => s + v, 0) / 4;
      const o = (await objective.read())[0]!;
      expect(Math.abs(o - meanKL) / meanKL, `freeBitsKL [4,3,3,8]: objective ${o} vs mean true KL ${meanKL}`).toBeLessThan(1e-5);
    });
  });
});
