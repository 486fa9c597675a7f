// discretizedLogisticLogLikelihood (engine/ops/logistic.ts) against the float64 reference
// (test/reference/logistic.ts): forward <= 1e-5, gradients <= 1e-4, directional check <= 1e-4, on random
// shapes (sizes not multiples of 4/64/256, several chunks per image, C in {1, 3, 7}), every K, both edge
// forms; edge bins, tiny and large scales; normalisation of the K bin probabilities.
import { afterAll, describe, expect, it } from 'vitest';
import type { Engine, Tensor } from '../../engine/index.js';
import { discretizedLogisticLogLikelihood } from '../../engine/generative/index.js';
import { refLogisticLL, refLogisticVjp } from '../reference/logistic.js';
import { type RefTensor, ref, shapeStr } from '../reference/tensor.js';
import { compare, compareElementwise, directionalCheck, mulberry32, randomData, type Rng } from '../reference/gradcheck.js';
import { disposeTestEngine, roundF32, testEngine, toGpu } from '../helpers/gpu.js';
import { FWD_TOL, BWD_TOL, DIR_TOL } from '../helpers/opcheck.js';

/**
 * Per-element relative error at extreme inputs: a = (lower - mu) / s carries the error of s = exp(log s), which
 * WGSL bounds by (3 + 2 * 9) ULP = 2.5e-6 at |log s| = 9, and e^-|a| multiplies it by |a| <= 80: 2e-4. Measured
 * on lavapipe: log p 4.6e-6, d(mean) 6.5e-5, d(logScale) 2.2e-5; the cancellation it caught was an error of 1.
 */
const EXTREME_TOL = 2.5e-4;
let engine: Engine;

afterAll(async () => {
  await disposeTestEngine();
});

interface Case {
  shape: [number, number, number, number];
  K: number;
  tails: boolean;
  mean: RefTensor;
  logScale: RefTensor;
  y: RefTensor;
  /** finite-difference step for the directional check (small for tiny scales) */
  h?: number;
}

function pixels(rng: Rng, shape: number[], edgeFrac = 0.15): RefTensor {
  return ref(shape, () => {
    const u = rng();
    if (u < edgeFrac / 2) return 0;
    if (u < edgeFrac) return 255;
    return Math.floor(rng() * 256);
  });
}

function randomCase(rng: Rng, shape: [number, number, number, number], K: number, tails: boolean, lsLo: number, lsHi: number, nearEdge = false): Case {
  const C = shape[3];
  const y = pixels(rng, shape);
  const logScale = roundF32(randomData(rng, [C], lsLo, lsHi));
  if (nearEdge) {
    // Tiny scales: half the means within a few s of an edge of the pixel's bin (where the gradients live),
    // the rest anywhere (saturated: D ~ 0 or ~ 1).
    const c = 256 / K;
    const mean = roundF32(ref(shape, (i) => {
      const s = Math.exp(logScale.data[i % C]!);
      const lower = (c * Math.floor(y.data[i]! / c)) / 256 - 0.5;
      if (rng() < 0.5) return lower + (rng() < 0.5 ? 0 : c / 256) + 6 * s * (rng() - 0.5);
      return rng() - 0.5;
    }));
    return { shape, K, tails, mean, logScale, y };
  }
  // Means: mostly near the pixel's bin (realistic), some anywhere in the data range, some at the edges.
  const mean = roundF32(ref(shape, (i) => {
    const u = rng();
    if (u < 0.5) return Math.min(0.499, Math.max(-0.499, (y.data[i]! + 0.5) / 256 - 0.5 + 0.05 * (rng() - 0.5)));
    if (u < 0.9) return rng() - 0.5;
    return rng() < 0.5 ? -0.499 : 0.499;
  }));
  return { shape, K, tails, mean, logScale, y };
}

async function check(c: Case, rng: Rng): Promise<void> {
  const label = `discretizedLogisticLogLikelihood ${shapeStr(c.shape)} K=${c.K} tails=${c.tails} logScale=[${[...c.logScale.data].map((v) => v.toFixed(2))}]`;
  await engine.asyncScope(async () => {
    const mean = toGpu(engine, c.mean, true);
    const ls = toGpu(engine, c.logScale, true);
    const y = toGpu(engine, c.y);
    const ll = discretizedLogisticLogLikelihood(mean, ls, y, c.K, { tails: c.tails });
    expect(ll.shape, `${label}: output shape`).toEqual([c.shape[0]]);
    const expected = refLogisticLL(c.mean, c.logScale, c.y, c.K, c.tails);
    const fwd = compare(`${label} forward`, c.shape, await ll.read(), expected.data, FWD_TOL);
    expect(fwd.err, fwd.message).toBeLessThanOrEqual(FWD_TOL);

    const g = roundF32(randomData(rng, [c.shape[0]], 0.5, 1.5));
    engine.backward(ll, toGpu(engine, g));
    expect(y.grad, `${label}: y must get no gradient`).toBeNull();
    const [rdm, rdls] = refLogisticVjp(c.mean, c.logScale, c.y, c.K, c.tails, g);
    const dm = await mean.grad!.read();
    const dls = await ls.grad!.read();
    const b1 = compare(`${label} d(mean)`, c.shape, dm, rdm.data, BWD_TOL);
    expect(b1.err, b1.message).toBeLessThanOrEqual(BWD_TOL);
    const b2 = compare(`${label} d(logScale)`, c.shape, dls, rdls.data, BWD_TOL);
    expect(b2.err, b2.message).toBeLessThanOrEqual(BWD_TOL);

    const tangents = [randomData(rng, c.shape), randomData(rng, [c.shape[3]])];
    const dir = directionalCheck((xs) => refLogisticLL(xs[0]!, xs[1]!, c.y, c.K, c.tails), [c.mean, c.logScale], tangents, g, [dm, dls], c.h);
    expect(dir.relErr, `${label}: directional <t, J^T c> = ${dir.lhs} vs <J t, c> = ${dir.rhs}, relErr ${dir.relErr.toExponential(3)}`).toBeLessThanOrEqual(DIR_TOL);
    (mean.grad as Tensor | null)?.dispose();
    (ls.grad as Tensor | null)?.dispose();
  });
}

describe('discretizedLogisticLogLikelihood', () => {
  it('random shapes, every K, both edge forms: forward, gradients, directional', async () => {
    engine ??= await testEngine();
    const rng = mulberry32(0x10915);
    const shapes: [number, number, number, number][] = [[2, 3, 5, 3], [3, 7, 9, 1], [2, 31, 33, 3], [1, 5, 13, 7], [4, 2, 3, 3], [1, 1, 1, 1]];
    const Ks = [256, 32, 64, 16, 128, 8];
    for (let i = 0; i < shapes.length; i++) {
      await check(randomCase(rng, shapes[i]!, Ks[i]!, i % 2 === 1, -5, -1), rng);
    }
  });

  it('edges and scales: every K, tails on/off, tiny (s ~ 1e-4) and large (s ~ 3) scales', async () => {
    engine ??= await testEngine();
    const rng = mulberry32(0xed9e);
    for (const K of [256, 128, 64, 32, 16, 8, 4, 2]) {
      for (const tails of [false, true]) {
        // Tiny scales: most bins far from the mean (D underflows to 0, log p = log 1e-7), a few right at it.
        const tiny = randomCase(rng, [2, 3, 4, 3], K, tails, -9.5, -7, true);
        tiny.h = 1e-8;
        await check(tiny, rng);
        // Large scales: narrow bins relative to s (the CDF difference of nearly equal sigmoids).
        await check(randomCase(rng, [1, 4, 5, 3], K, tails, 0, 1.2), rng);
      }
    }
  });

  it('edge bins: y = 0 and 255 with means at, inside and beyond the edges', async () => {
    engine ??= await testEngine();
    const rng = mulberry32(0xed6e);
    const shape: [number, number, number, number] = [2, 2, 5, 3];
    const meansAt = [-0.5, -0.499, -0.45, 0.45, 0.499, 0.5, -0.8, 0.8, 0];
    for (const K of [256, 32]) {
      for (const tails of [false, true]) {
        const y = ref(shape, (i) => (i % 2 === 0 ? 0 : 255));
        const mean = roundF32(ref(shape, (i) => meansAt[i % meansAt.length]!));
        const logScale = roundF32(ref([3], [-6, -3, -1]));
        await check({ shape, K, tails, mean, logScale, y, h: 1e-8 }, rng);
      }
    }
  });

  it('normalisation: with tails the K bin probabilities sum to 1 (1e-5); without tails to <= 1', async () => {
    engine ??= await testEngine();
    const means = [-0.5, -0.37, -0.01, 0, 0.2, 0.4999, 0.6];
    for (const K of [256, 128, 64, 32, 16]) {
      for (const logS of [-6, -3, -1, 0.5]) {
        for (const tails of [false, true]) {
          // Image i = p * K + k: mean means[p], pixel value k * c (bin k); one pixel, one channel per image.
          const B = means.length * K;
          const c = 256 / K;
          const probs = await engine.asyncScope(async () => {
            const mean = engine.tensor(Float32Array.from({ length: B }, (_, i) => means[Math.floor(i / K)]!), [B, 1, 1, 1]);
            const y = engine.tensor(Float32Array.from({ length: B }, (_, i) => (i % K) * c + (i % 3 === 0 ? c - 1 : 0)), [B, 1, 1, 1]);
            const ls = engine.tensor([logS], [1]);
            return discretizedLogisticLogLikelihood(mean, ls, y, K, { tails }).read();
          });
          for (let p = 0; p < means.length; p++) {
            let total = 0;
            for (let k = 0; k < K; k++) total += Math.exp(probs[p * K + k]!) - 1e-7;
            const label = `discretizedLogisticLogLikelihood normalisation K=${K} logScale=${logS} mean=${means[p]} tails=${tails}: sum=${total}`;
            if (tails) expect(Math.abs(total - 1), label).toBeLessThanOrEqual(1e-5);
            else expect(total, label).toBeLessThanOrEqual(1 + 1e-6);
          }
        }
      }
    }
  });

  it('per element at extreme distances: min(|a|, |b|) from 0 to 80, s from 1.2e-4 to 4.5, against float64', async () => {
    engine ??= await testEngine();
    // One element per image ([N, 1, 1, 1]: the forward per element) and one element per channel ([1, 1, 1, N]:
    // d(logScale) per element), the mean t scales s from an edge of y's bin, t from -120 to 120: sigmoid_,
    // expm1_ and log1p_ of math_lib.wgsl where they matter (D ~ 1e-7 .. 1, log p near 0, tiny gradients).
    // Per element: |gpu - ref| / max(|ref|, floor); floors well below the values that matter.
    const T = [-120, -80, -40, -20, -10, -5, -2, -1, -0.3, -0.01, 0, 0.01, 0.3, 1, 2, 5, 10, 20, 40, 80, 120];
    const rng = mulberry32(0xe47e);
    const worst = { fwd: 0, dmean: 0, dls: 0 };
    for (const K of [256, 16]) {
      for (const tails of [false, true]) {
        for (const logS of [-9, -6, -3, 0, 1.5]) {
          const s = Math.exp(logS);
          const c = 256 / K;
          // Pixels: bins 0, K-1 and random interior ones; means at t*s from the lower or the upper edge. Kept where
          // min(|a|, |b|) <= 80: beyond, the bin's mass and derivatives (~e^-min) are below float32's normal range.
          const yv: number[] = [];
          const mv: number[] = [];
          for (let i = 0; i < T.length * 2; i++) {
            const y = i % 7 === 0 ? 0 : i % 7 === 1 ? 255 : c * Math.floor(rng() * K);
            const lower = (c * Math.floor(y / c)) / 256 - 0.5;
            const mu = Math.fround((i % 2 === 0 ? lower : lower + c / 256) + T[i % T.length]! * s);
            if (Math.min(Math.abs((lower - mu) / s), Math.abs((lower + c / 256 - mu) / s)) > 80) continue;
            yv.push(y);
            mv.push(mu);
          }
          const N = yv.length;
          const label = `discretizedLogisticLogLikelihood K=${K} tails=${tails} logScale=${logS}`;
          const perImage = roundF32(ref([N, 1, 1, 1], Float64Array.from(mv)));
          const yImg = ref([N, 1, 1, 1], Float64Array.from(yv));
          const ls1 = roundF32(ref([1], [logS]));
          const perChannel = ref([1, 1, 1, N], perImage.data);
          const yCh = ref([1, 1, 1, N], yImg.data);
          const lsN = ref([N], () => ls1.data[0]!);
          const got = await engine.asyncScope(async () => {
            const ll = discretizedLogisticLogLikelihood(toGpu(engine, perImage), toGpu(engine, ls1), toGpu(engine, yImg), K, { tails });
            const mean = toGpu(engine, perChannel, true);
            const ls = toGpu(engine, lsN, true);
            const ll2 = discretizedLogisticLogLikelihood(mean, ls, toGpu(engine, yCh), K, { tails });
            engine.backward(ll2, engine.ones([1]));
            return { ll: await ll.read(), dm: await mean.grad!.read(), dls: await ls.grad!.read() };
          });
          const expected = refLogisticLL(perImage, ls1, yImg, K, tails);
          const [rdm, rdls] = refLogisticVjp(perChannel, lsN, yCh, K, tails, ref([1], [1]));
          const f = compareElementwise(`${label} log p per element`, [N], got.ll, expected.data, 1e-30, perImage.data);
          const b1 = compareElementwise(`${label} d(mean) per element`, [N], got.dm, rdm.data, 1e-30, perChannel.data);
          const b2 = compareElementwise(`${label} d(logScale) per element`, [N], got.dls, rdls.data, 1e-30, perChannel.data);
          worst.fwd = Math.max(worst.fwd, f.err);
          worst.dmean = Math.max(worst.dmean, b1.err);
          worst.dls = Math.max(worst.dls, b2.err);
          expect(f.err, f.message).toBeLessThanOrEqual(EXTREME_TOL);
          expect(b1.err, b1.message).toBeLessThanOrEqual(EXTREME_TOL);
          expect(b2.err, b2.message).toBeLessThanOrEqual(EXTREME_TOL);
        }
      }
    }
    console.log(`logistic per-element worst relErr: log p ${worst.fwd.toExponential(2)}, d(mean) ${worst.dmean.toExponential(2)}, d(logScale) ${worst.dls.toExponential(2)}`);
  });

  it('rejects bad levels and shapes', async () => {
    engine ??= await testEngine();
    await engine.asyncScope(async () => {
      const m = engine.zeros([1, 2, 2, 3]);
      const ls = engine.zeros([3]);
      expect(() => discretizedLogisticLogLikelihood(m, ls, m, 100)).toThrow(/levels/);
      expect(() => discretizedLogisticLogLikelihood(m, engine.zeros([1]), m, 256)).toThrow(/logScale/);
    });
  });
});
