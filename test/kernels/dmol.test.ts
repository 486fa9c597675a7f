// DMOL log-likelihood, its fused gradient and the DMOL sampler (engine/ops/dmol.ts) against the float64 reference
// in test/reference/dmol.ts: forward relErr <= 1e-5 (per image and per pixel), gradient vs central finite
// differences of the float64 forward <= 1e-4, directional check <= 1e-4, on random odd shapes for RGB and one
// channel; inputs that reach all four branches of §2.6 (x = -1, x = +1, interior, fallback), log-scales above and
// below the -7 clamp (zero gradient below); normalisation over the 256 values of one channel, over 256^2 (G, B)
// on the GPU and over 256^3 on the CPU; the sampler bit-for-bit-ish against a reference using the same Philox
// words, position mode, determinism, a chi-square test of a channel's histogram and the mixture frequencies.
import { afterAll, describe, expect, it } from 'vitest';
import type { Engine, Tensor } from '../../engine/index.js';
import { dmolLogLikelihood, dmolLogProbPixels, dmolSample } from '../../engine/generative/index.js';
import { compare, compareElementwise, directionalCheck, mulberry32, numericalVjp, randomData, randomInt, type Rng } from '../reference/gradcheck.js';
import { type RefTensor, ref } from '../reference/tensor.js';
import {
  type BranchCounts,
  emptyCounts,
  gridValue,
  refChannelLogProb,
  refDmolLogLikelihood,
  refDmolLogProbPixels,
  refJointSumRGB,
  refPixelComponents,
  refSamplePixel,
} from '../reference/dmol.js';
import { disposeTestEngine, roundF32, testEngine, toGpu } from '../helpers/gpu.js';
import { FWD_TOL, BWD_TOL, DIR_TOL } from '../helpers/opcheck.js';

const NORM_TOL = 1e-5;

afterAll(disposeTestEngine);

const f32 = Math.fround;
const K = (C: number, M: number): number => (C === 3 ? 10 : 3) * M;

/** Offset of (slot c, field f: 0 mean / 1 raw log-scale / 2 raw coeff, component k) in a pixel's params. */
const at = (M: number, c: number, f: number, k: number): number => M + 3 * M * c + f * M + k;

/** Random params: logits U(-2,2), means U(-1.1,1.1), raw log-scales U(lsLo, lsHi), raw coeffs U(-2,2). */
function randomParams(rng: Rng, B: number, H: number, W: number, C: number, M: number, lsLo = -4, lsHi = 0.5): RefTensor {
  const k = K(C, M);
  const t = ref([B, H, W, k]);
  for (let p = 0; p < B * H * W; p++) {
    const o = p * k;
    for (let j = 0; j < M; j++) t.data[o + j] = -2 + 4 * rng();
    for (let c = 0; c < C; c++) {
      for (let j = 0; j < M; j++) {
        t.data[o + at(M, c, 0, j)] = -1.1 + 2.2 * rng();
        t.data[o + at(M, c, 1, j)] = lsLo + (lsHi - lsLo) * rng();
        if (C === 3) t.data[o + at(M, c, 2, j)] = -2 + 4 * rng();
      }
    }
  }
  return roundF32(t);
}

/** Random 8-bit pixels mapped to [-1, 1]; about 15% exactly 0 (x = -1) and 15% exactly 255 (x = +1). */
function randomImage(rng: Rng, B: number, H: number, W: number, C: number): RefTensor {
  return roundF32(
    ref([B, H, W, C], () => {
      const u = rng();
      return gridValue(u < 0.15 ? 0 : u < 0.3 ? 255 : randomInt(rng, 1, 254));
    }),
  );
}

/**
 * Hand-made pixels (B=1, H=1, W=7) that hit every branch and both sides of the log-scale clamp:
 * 0: x at the edges (-1 / +1), moderate scales; 1: edges with tiny scales (raw -6.9, just above the clamp) and
 * means close to x; 2: interior x far from every mean with raw log-scales -7.5 / -8 (clamped, fallback branch);
 * 3: one component in the fallback branch (tiny scale, far mean), one normal; 4: raw -9 (clamped) with the mean
 * near x (interior branch at the clamp); 5: all params 0 with x = (+1, -1, 0) (a constant net must give a finite
 * loss); 6: interior x with every component in the fallback branch ABOVE the clamp (raw -6.2 / -6.6, means 0.04
 * off: mid = 20 to 30 scales, cdf_delta < 1e-7), so the fallback's log-scale gradient (mid (2 sigma(mid) - 1) - 1)
 * is non-zero and checked; below the clamp (pixels 2 and 3) it is zero whatever the kernel computes.
 */
function specialCase(C: number, M: number): { params: RefTensor; x: RefTensor } {
  const rng = mulberry32(777 + C);
  const params = randomParams(rng, 1, 1, 7, C, M, -3, 0);
  const x = ref([1, 1, 7, C]);
  const k = K(C, M);
  const set = (p: number, c: number, f: number, j: number, v: number): void => {
    params.data[p * k + at(M, c, f, j)] = v;
  };
  const xs: number[][] = [
    [-1, 1, -1],
    [-1, 1, 1],
    [gridValue(100), gridValue(30), gridValue(200)],
    [gridValue(140), gridValue(60), gridValue(10)],
    [gridValue(77), gridValue(180), gridValue(129)],
    [1, -1, 0],
    [gridValue(90), gridValue(160), gridValue(40)],
  ];
  for (let p = 0; p < 7; p++) for (let c = 0; c < C; c++) x.data[p * C + c] = xs[p]![c]!;
  for (let c = 0; c < C; c++) {
    for (let j = 0; j < M; j++) {
      const coeff0 = (p: number): void => {
        if (C === 3) set(p, c, 2, j, 0);
      };
      // pixel 1: tiny scales just above the clamp, mean 1.5 bins inside the range
      set(1, c, 1, j, -6.9);
      set(1, c, 0, j, xs[1]![c]! - Math.sign(xs[1]![c]!) * 0.006);
      coeff0(1);
      // pixel 2: clamped tiny scales, means far away -> fallback for every component
      set(2, c, 1, j, j % 2 === 0 ? -7.5 : -8);
      set(2, c, 0, j, xs[2]![c]! + 0.3);
      coeff0(2);
      // pixel 3: component 0 in the fallback branch, the others ordinary
      if (j === 0) {
        set(3, c, 1, j, -7.25);
        set(3, c, 0, j, xs[3]![c]! - 0.2);
        coeff0(3);
      }
      // pixel 4: clamped scale, mean within a bin of x (interior branch)
      set(4, c, 1, j, -9);
      set(4, c, 0, j, xs[4]![c]! + 0.0021);
      coeff0(4);
      // pixel 6: scales just above the clamp, means 0.04 away (either side): fallback with a live log-scale gradient
      set(6, c, 1, j, j % 2 === 0 ? -6.2 : -6.6);
      set(6, c, 0, j, xs[6]![c]! + (j % 2 === 0 ? 0.04 : -0.04));
      coeff0(6);
    }
  }
  for (let i = 5 * k; i < 6 * k; i++) params.data[i] = 0;
  return { params: roundF32(params), x: roundF32(x) };
}

/** Indices of raw log-scales below the clamp (their gradient must be exactly 0). */
function clampedIndices(params: RefTensor, C: number, M: number): number[] {
  const k = K(C, M);
  const out: number[] = [];
  for (let p = 0; p < params.data.length / k; p++) {
    for (let c = 0; c < C; c++) for (let j = 0; j < M; j++) if (params.data[p * k + at(M, c, 1, j)]! < -7) out.push(p * k + at(M, c, 1, j));
  }
  return out;
}

async function checkLikelihood(engine: Engine, name: string, params: RefTensor, x: RefTensor, M: number, rng: Rng, counts: BranchCounts): Promise<void> {
  const shapes = [params.shape, x.shape];
  const [B, H, W] = params.shape as [number, number, number, number];
  await engine.asyncScope(async () => {
    // per-image log-likelihood and its gradient
    const P = toGpu(engine, params, true);
    const X = toGpu(engine, x);
    const ll = dmolLogLikelihood(P, X, M);
    expect(ll.shape).toEqual([B]);
    const llRef = refDmolLogLikelihood(params, x, M, counts);
    const fwd = compare(`${name} dmolLogLikelihood`, shapes, await ll.read(), llRef.data, FWD_TOL);
    expect(fwd.err, fwd.message).toBeLessThanOrEqual(FWD_TOL);

    const cot = roundF32(randomData(rng, [B], 0.5, 1.5));
    engine.backward(ll, toGpu(engine, cot));
    const g = await P.grad!.read();
    const f = (ins: RefTensor[]): RefTensor => refDmolLogLikelihood(ins[0]!, x, M);
    const gRef = numericalVjp(f, [params], cot, 1e-6)[0]!;
    const bwd = compare(`${name} dmolLogLikelihood.backward (vs finite differences)`, shapes, g, gRef.data, BWD_TOL);
    expect(bwd.err, bwd.message).toBeLessThanOrEqual(BWD_TOL);
    const dir = directionalCheck(f, [params], [randomData(rng, params.shape)], cot, [g], 1e-6);
    expect(dir.relErr, `${name} dmolLogLikelihood directional check ${JSON.stringify(shapes)}: <t,J^T c>=${dir.lhs}, <J t,c>=${dir.rhs}`).toBeLessThanOrEqual(DIR_TOL);
    for (const i of clampedIndices(params, x.shape[3]!, M)) {
      expect(g[i], `${name}: gradient of a raw log-scale below -7 (index ${i}) must be 0`).toBe(0);
    }
    P.grad!.dispose();

    // per-pixel values and a per-pixel cotangent through the same kernel
    const P2 = toGpu(engine, params, true);
    const lp = dmolLogProbPixels(P2, X, M);
    const lpRef = refDmolLogProbPixels(params, x, M);
    const pix = compare(`${name} dmolLogProbPixels`, shapes, await lp.read(), lpRef.data, FWD_TOL);
    expect(pix.err, pix.message).toBeLessThanOrEqual(FWD_TOL);
    const cot2 = roundF32(randomData(rng, [B, H, W]));
    engine.backward(lp, toGpu(engine, cot2));
    const g2 = await P2.grad!.read();
    const f2 = (ins: RefTensor[]): RefTensor => refDmolLogProbPixels(ins[0]!, x, M);
    const dir2 = directionalCheck(f2, [params], [randomData(rng, params.shape)], cot2, [g2], 1e-6);
    expect(dir2.relErr, `${name} dmolLogProbPixels directional check ${JSON.stringify(shapes)}: ${dir2.lhs} vs ${dir2.rhs}`).toBeLessThanOrEqual(DIR_TOL);
    P2.grad!.dispose();
  });
}

describe('dmol log-likelihood', () => {
  const shapes: [number, number, number, number][] = [
    [1, 3, 5, 2],
    [2, 5, 1, 5],
    [3, 1, 3, 1],
    [2, 3, 3, 5],
  ];
  for (const C of [3, 1]) {
    it(`${C === 3 ? 'RGB' : '1-channel'}: forward, gradient and directional check on random shapes`, async () => {
      const engine = await testEngine();
      const rng = mulberry32(100 + C);
      const counts = emptyCounts();
      for (const [B, H, W, M] of shapes) {
        const params = randomParams(rng, B, H, W, C, M);
        const x = randomImage(rng, B, H, W, C);
        await checkLikelihood(engine, `C=${C} M=${M}`, params, x, M, rng, counts);
      }
      expect(counts.low).toBeGreaterThan(0);
      expect(counts.high).toBeGreaterThan(0);
      expect(counts.interior).toBeGreaterThan(0);
    });

    it(`${C === 3 ? 'RGB' : '1-channel'}: every branch, tiny scales, the -7 clamp and a constant net`, async () => {
      const engine = await testEngine();
      const rng = mulberry32(200 + C);
      for (const M of [1, 2]) {
        const { params, x } = specialCase(C, M);
        const counts = emptyCounts();
        await checkLikelihood(engine, `special C=${C} M=${M}`, params, x, M, rng, counts);
        expect(counts.low, JSON.stringify(counts)).toBeGreaterThan(0);
        expect(counts.high, JSON.stringify(counts)).toBeGreaterThan(0);
        expect(counts.interior, JSON.stringify(counts)).toBeGreaterThan(0);
        expect(counts.fallback, JSON.stringify(counts)).toBeGreaterThan(0);
        // Pixel 6: every channel of every component in the fallback above the clamp (where its gradient is live).
        expect(counts.fallbackAboveClamp, `fallback channels above the -7 clamp: ${JSON.stringify(counts)}`).toBeGreaterThanOrEqual(C * M);
        expect(clampedIndices(params, C, M).length).toBeGreaterThan(0);
      }
    });
  }

  it('no gradient buffer when params does not require grad; x gets no gradient', async () => {
    const engine = await testEngine();
    const rng = mulberry32(5);
    await engine.asyncScope(async () => {
      const params = randomParams(rng, 2, 3, 3, 3, 2);
      const x = randomImage(rng, 2, 3, 3, 3);
      const P = toGpu(engine, params);
      const X = toGpu(engine, x, true);
      const ll = dmolLogLikelihood(P, X, 2);
      expect(ll.requiresGrad).toBe(false);
      const r = compare('dmolLogLikelihood (no grad)', params.shape, await ll.read(), refDmolLogLikelihood(params, x, 2).data, FWD_TOL);
      expect(r.err, r.message).toBeLessThanOrEqual(FWD_TOL);
      const P2 = toGpu(engine, params, true);
      const ll2 = engine.noGrad(() => dmolLogLikelihood(P2, X, 2));
      expect(ll2.requiresGrad).toBe(false);
      const P3 = toGpu(engine, params, true);
      const ll3 = dmolLogLikelihood(P3, X, 2);
      engine.backward(ll3, engine.ones([2]));
      expect(X.grad).toBeNull();
      expect(P3.grad).not.toBeNull();
      // the op hands its gradient buffer to the tape; a second backward accumulates into P3.grad
      const first = await P3.grad!.read();
      engine.backward(dmolLogLikelihood(P3, X, 2), engine.ones([2]));
      const second = await P3.grad!.read();
      const acc = compare('dmolLogLikelihood gradient accumulation', params.shape, second, Array.from(first, (v) => 2 * v), 1e-6);
      expect(acc.err, acc.message).toBeLessThanOrEqual(1e-6);
    });
  });

  it('1 channel, per element at extreme inputs: |plus|, |minus| up to 80, log-scales -6.9 to 1, logits 80 apart', async () => {
    const engine = await testEngine();
    // One channel, M = 2; each pixel its own params. x at -1, +1 and interior values; component 0's mean t
    // scales from x (t from -80 to 80), component 1 a far-off mean with a logit 0, 20 or 80 below (so the
    // mixture's log-sum-exp and log-softmax meet extreme differences). Per element against float64:
    // log p per pixel and each parameter's gradient (finite differences of the float64 forward).
    // The x = -1 branch is the reference's literal plus - softplus(plus), which cancels in float64 for
    // plus > 16 (error ~ 1e-16 e^plus): those pixels are left out; everywhere else the reference is exact to 1e-9.
    const M = 2;
    const k = K(1, M);
    const T = [-80, -40, -20, -10, -4, -1, -0.3, 0, 0.3, 1, 4, 10, 20, 40, 80];
    const xs = [-1, 1, gridValue(3), gridValue(128), gridValue(250)].map(f32); // what the GPU sees
    const rows: number[][] = [];
    const xv: number[] = [];
    for (const ls of [-6.9, -4, -1, 1]) { // -6.9: just above the clamp at -7 (a kink there; central differences would halve)
      const s = Math.exp(ls);
      for (const x of xs) {
        for (const t of T) {
          const mu = f32(x + t * s);
          const inv = Math.exp(-ls);
          if (x < -0.999 && inv * (x - mu + 1 / 255) > 16) continue;
          const gap = [0, 20, 80][rows.length % 3]!;
          rows.push([0, -gap, mu, f32(x > 0 ? -0.9 : 0.9), ls, -2]);
          xv.push(x);
        }
      }
    }
    const N = rows.length;
    const params = ref([1, 1, N, k], Float64Array.from(rows.flat()));
    const x = ref([1, 1, N, 1], Float64Array.from(xv));
    const got = await engine.asyncScope(async () => {
      const p = toGpu(engine, params, true);
      const lp = dmolLogProbPixels(p, toGpu(engine, x), M);
      engine.backward(lp, engine.ones(lp.shape));
      return { lp: await lp.read(), g: await p.grad!.read() };
    });
    const counts = emptyCounts();
    const f = (ps: RefTensor[]): RefTensor => refDmolLogProbPixels(ps[0]!, x, M);
    const expected = refDmolLogProbPixels(params, x, M, counts);
    // Gradient reference: Richardson-extrapolated central differences per element (error O(h^4)), step 0.02 s for
    // means (slopes ~ 1/s) and 1e-3 for logits and log-scales; their rounding error (~1e-16 |log p| / h, log p
    // down to -100) is below 1e-9, so gradients are compared per element above a floor of 1e-5.
    const gRef = new Float64Array(N * k);
    const work = ref(params.shape, Float64Array.from(params.data));
    const central = (i: number, h: number): number => {
      const x0 = work.data[i]!;
      work.data[i] = x0 + h;
      const up = f([work]).data[Math.floor(i / k)]!;
      work.data[i] = x0 - h;
      const down = f([work]).data[Math.floor(i / k)]!;
      work.data[i] = x0;
      return (up - down) / (2 * h);
    };
    for (let i = 0; i < N * k; i++) {
      const slot = i % k;
      const isMean = slot >= M && slot < 2 * M;
      const h = isMean ? 0.02 * Math.exp(Math.max(params.data[Math.floor(i / k) * k + slot + M]!, -7)) : 1e-3;
      gRef[i] = (4 * central(i, h / 2) - central(i, h)) / 3;
    }
    const fw = compareElementwise(`dmolLogProbPixels 1-channel M=2 extreme, log p per pixel (${JSON.stringify(counts)})`, [1, 1, N], got.lp, expected.data, 1e-30);
    const bw = compareElementwise('dmolLogProbPixels 1-channel M=2 extreme, gradient per parameter', [1, 1, N, k], got.g, gRef, 1e-5);
    console.log(`${fw.message}\n${bw.message}`);
    expect(counts.low * counts.high * counts.interior * counts.fallback, `every branch reached: ${JSON.stringify(counts)}`).toBeGreaterThan(0);
    expect(fw.err, fw.message).toBeLessThanOrEqual(2.5e-4);
    expect(bw.err, bw.message).toBeLessThanOrEqual(2.5e-4);
  });

  it('rejects mismatched shapes with a message naming the op', async () => {
    const engine = await testEngine();
    const P = engine.zeros([1, 2, 2, 20]);
    expect(() => dmolLogLikelihood(P, engine.zeros([1, 2, 2, 1]), 2)).toThrow(/dmolLogLikelihood/);
    expect(() => dmolLogLikelihood(P, engine.zeros([1, 2, 3, 3]), 2)).toThrow(/dmolLogLikelihood/);
    expect(() => dmolLogLikelihood(P, engine.zeros([1, 2, 2, 3]), 3)).toThrow(/dmolLogLikelihood/);
    expect(() => dmolSample(P, 2, { seed: 1, stream: 0, position: { row: 0, col: 0 } })).toThrow(/canvas/);
  });
});

/** `count` copies of one pixel's params as [1, 1, count, K]. */
function replicate(engine: Engine, theta: ArrayLike<number>, count: number): Tensor {
  const k = theta.length;
  const data = new Float32Array(count * k);
  for (let i = 0; i < count; i++) for (let j = 0; j < k; j++) data[i * k + j] = theta[j]!;
  return engine.tensor(data, [1, 1, count, k]);
}

function sumExp(xs: Float32Array): number {
  let s = 0;
  for (const v of xs) s += Math.exp(v);
  return s;
}

describe('dmol normalisation', () => {
  it('1 channel: p sums to 1 over the 256 values', async () => {
    const engine = await testEngine();
    const rng = mulberry32(31);
    for (const M of [1, 5]) {
      const theta = randomParams(rng, 1, 1, 1, 1, M, -3, 0).data;
      await engine.asyncScope(async () => {
        const X = engine.tensor(Array.from({ length: 256 }, (_, v) => gridValue(v)), [1, 1, 256, 1]);
        const s = sumExp(await dmolLogProbPixels(replicate(engine, theta, 256), X, M).read());
        expect(Math.abs(s - 1), `1-channel M=${M}: sum over 256 values = ${s}`).toBeLessThanOrEqual(NORM_TOL);
      });
    }
  });

  it('RGB: sum over B of p(B | R, G) is 1, sum over (G, B) of p(G, B | R) is 1', async () => {
    const engine = await testEngine();
    const rng = mulberry32(32);
    for (const M of [1, 5]) {
      const theta = randomParams(rng, 1, 1, 1, 3, M, -3, 0).data;
      const xr = f32(gridValue(randomInt(rng, 40, 215)));
      const xg = f32(gridValue(randomInt(rng, 40, 215)));
      // marginals of the teacher-forced model: p(R) = sum_k pi_k p_Rk, p(R, G) = sum_k pi_k p_Rk p_Gk
      const { logPi, logC } = refPixelComponents(theta, 0, [xr, xg, 0], M);
      let pR = 0;
      let pRG = 0;
      for (let k = 0; k < M; k++) {
        pR += Math.exp(logPi[k]! + logC[0]![k]!);
        pRG += Math.exp(logPi[k]! + logC[0]![k]! + logC[1]![k]!);
      }
      await engine.asyncScope(async () => {
        const xb = new Float32Array(256 * 3);
        for (let v = 0; v < 256; v++) xb.set([xr, xg, gridValue(v)], v * 3);
        const sB = sumExp(await dmolLogProbPixels(replicate(engine, theta, 256), engine.tensor(xb, [1, 1, 256, 3]), M).read());
        expect(Math.abs(sB / pRG - 1), `RGB M=${M}: sum over B of p(B|R,G) = ${sB / pRG}`).toBeLessThanOrEqual(NORM_TOL);
        const xgb = new Float32Array(65536 * 3);
        for (let v = 0; v < 65536; v++) xgb.set([xr, gridValue(v >> 8), gridValue(v & 255)], v * 3);
        const sGB = sumExp(await dmolLogProbPixels(replicate(engine, theta, 65536), engine.tensor(xgb, [1, 1, 65536, 3]), M).read());
        expect(Math.abs(sGB / pR - 1), `RGB M=${M}: sum over (G,B) of p(G,B|R) = ${sGB / pR}`).toBeLessThanOrEqual(NORM_TOL);
      });
    }
  });

  it('RGB: the joint sums to 1 over all 256^3 values (float64 reference, exact triple sum)', () => {
    const rng = mulberry32(33);
    const M = 2;
    const theta = randomParams(rng, 1, 1, 1, 3, M, -3, 0).data;
    const s = refJointSumRGB(theta, M);
    console.log(`dmol joint sum over 256^3 (M=${M}): 1 - ${1 - s}`);
    expect(Math.abs(s - 1), `joint sum over 256^3 = ${s}`).toBeLessThanOrEqual(NORM_TOL);
    // the per-channel building block alone telescopes to 1 as well
    let s1 = 0;
    for (let v = 0; v < 256; v++) s1 += Math.exp(refChannelLogProb(gridValue(v), 0.13, -2.2));
    // (not exactly: the fallback branch approximates the far-tail bins by the density, here an error of ~2e-8)
    expect(Math.abs(s1 - 1), `one channel: sum over 256 values = ${s1}`).toBeLessThanOrEqual(1e-6);
  });
});

/** The kernel's uniform: top 24 bits + 0.5 in float32, over 2^24. Emulated for the float32 sampler check. */
function sampleRefPixels(params: RefTensor, M: number, nc: 1 | 3, seed: number, stream: number): { x: Float64Array; gap: Float64Array } {
  const [B, H, W, k] = params.shape as [number, number, number, number];
  const n = B * H * W;
  const x = new Float64Array(n * nc);
  const gap = new Float64Array(n);
  for (let p = 0; p < n; p++) {
    const r = refSamplePixel(params.data, p * k, M, nc, p, seed, stream);
    x.set(r.x, p * nc);
    gap[p] = r.gap;
  }
  return { x, gap };
}

/** The largest |gpu - reference| over the pixels that are not near-ties of the Gumbel argmax (float32 may pick the other one there), and how many were compared. */
function againstReference(got: Float32Array, want: { x: Float64Array; gap: Float64Array }, nc: number): { worst: number; compared: number } {
  let worst = 0;
  let compared = 0;
  for (let p = 0; p < want.gap.length; p++) {
    if (want.gap[p]! < 1e-3) continue;
    compared++;
    for (let c = 0; c < nc; c++) worst = Math.max(worst, Math.abs(got[p * nc + c]! - want.x[p * nc + c]!));
  }
  return { worst, compared };
}

describe('dmol sampler', () => {
  for (const nc of [3, 1] as const) {
    it(`${nc === 3 ? 'RGB' : '1-channel'}: matches the reference with the same Philox noise; all written; in [-1, 1]; deterministic`, async () => {
      const engine = await testEngine();
      const rng = mulberry32(40 + nc);
      let comparedAll = 0;
      let pixelsAll = 0;
      for (const [B, H, W, M] of [
        [2, 3, 5, 5],
        [1, 7, 3, 2],
        [3, 1, 1, 1],
      ] as [number, number, number, number][]) {
        // means outside [-1, 1] and large coefficients exercise the clipping and the coupling on clipped values
        const params = randomParams(rng, B, H, W, nc, M, -3, -0.5);
        for (let i = 0; i < params.data.length; i++) {
          const j = i % K(nc, M);
          if (j >= M && (j - M) % (3 * M) < M) params.data[i] = f32(params.data[i]! * 1.6);
        }
        await engine.asyncScope(async () => {
          const P = toGpu(engine, params);
          const seed = 2 ** 33 + 17;
          const y = dmolSample(P, M, { seed, stream: 5 });
          expect(y.shape).toEqual([B, H, W, nc]);
          const got = await y.read();
          const n = B * H * W;
          const { worst, compared } = againstReference(got, sampleRefPixels(params, M, nc, seed, 5), nc);
          // The skip must stay rare (a gap under 1e-3 has probability ~1e-3 per pixel): a skip that grew to most
          // pixels would leave nothing compared.
          expect(compared, `dmolSample [${B},${H},${W}] C=${nc} M=${M}: pixels compared (not near-ties) ${compared} of ${n}`).toBeGreaterThanOrEqual(n - 1);
          comparedAll += compared;
          pixelsAll += n;
          expect(worst, `dmolSample [${B},${H},${W}] C=${nc} M=${M}: max |gpu - ref| = ${worst} over ${compared} pixels`).toBeLessThanOrEqual(2e-5);
          for (const v of got) {
            expect(Number.isNaN(v), 'dmolSample left an element unwritten (NaN poison)').toBe(false);
            expect(v >= -1 && v <= 1, `dmolSample value ${v} outside [-1, 1]`).toBe(true);
          }
          const again = await dmolSample(P, M, { seed, stream: 5 }).read();
          expect(Array.from(again)).toEqual(Array.from(got));
          const other = await dmolSample(P, M, { seed, stream: 6 }).read();
          expect(Array.from(other)).not.toEqual(Array.from(got));
          const otherSeed = await dmolSample(P, M, { seed: seed + 1, stream: 5 }).read();
          expect(Array.from(otherSeed)).not.toEqual(Array.from(got));
          // A stream past 2^32 (the counter's upper stream word): noise of its own, as the reference draws it.
          const far = await dmolSample(P, M, { seed, stream: 2 ** 32 + 5 }).read();
          expect(Array.from(far), `dmolSample [${B},${H},${W}] C=${nc}: stream 2^32 + 5 repeats stream 5`).not.toEqual(Array.from(got));
          const farCheck = againstReference(far, sampleRefPixels(params, M, nc, seed, 2 ** 32 + 5), nc);
          expect(farCheck.compared, `dmolSample stream 2^32 + 5: pixels compared ${farCheck.compared} of ${n}`).toBeGreaterThanOrEqual(n - 1);
          expect(farCheck.worst, `dmolSample [${B},${H},${W}] C=${nc} M=${M} stream 2^32 + 5: max |gpu - ref| = ${farCheck.worst}`).toBeLessThanOrEqual(2e-5);
        });
      }
      console.log(`dmolSample C=${nc}: ${comparedAll} of ${pixelsAll} pixels compared with the reference (the rest near-ties)`);
    });

    it(`${nc === 3 ? 'RGB' : '1-channel'}: position mode writes only that position of the canvas, as in full mode`, async () => {
      const engine = await testEngine();
      const rng = mulberry32(50 + nc);
      const [B, H, W, M] = [2, 3, 5, 3];
      const params = randomParams(rng, B, H, W, nc, M, -3, -0.5);
      await engine.asyncScope(async () => {
        const P = toGpu(engine, params);
        const full = await dmolSample(P, M, { seed: 9, stream: 1 }).read();
        const canvas = engine.full([B, H, W, nc], 0.25);
        const ret = dmolSample(P, M, { seed: 9, stream: 1, position: { row: 1, col: 2 }, canvas });
        expect(ret).toBe(canvas);
        const got = await canvas.read();
        for (let p = 0; p < B * H * W; p++) {
          const here = p % (H * W) === 1 * W + 2;
          for (let c = 0; c < nc; c++) {
            const i = p * nc + c;
            if (here) expect(got[i], `position (1,2) of image ${Math.floor(p / (H * W))} channel ${c}`).toBe(full[i]);
            else expect(got[i], `element ${i} outside the sampled position was modified`).toBe(0.25);
          }
        }
        // a raster scan over all positions reproduces full mode (params fixed here)
        const scan = engine.full([B, H, W, nc], 0.25);
        for (let r = 0; r < H; r++) for (let c = 0; c < W; c++) dmolSample(P, M, { seed: 9, stream: 1, position: { row: r, col: c }, canvas: scan });
        expect(Array.from(await scan.read())).toEqual(Array.from(full));
      });
    });
  }

  it('coupling uses the clipped R and G (pitfall 7)', async () => {
    const engine = await testEngine();
    // one component, tiny scales: x_R = clip(1.6) = 1, x_G = clip(-0.2 + tanh(0.5) * 1), x_B = clip(0.1 + tanh(1) * 1 + tanh(-0.7) * x_G)
    const M = 1;
    const theta = new Array<number>(10).fill(0);
    theta[at(M, 0, 0, 0)] = 1.6;
    theta[at(M, 1, 0, 0)] = -0.2;
    theta[at(M, 2, 0, 0)] = 0.1;
    for (let c = 0; c < 3; c++) theta[at(M, c, 1, 0)] = -20; // clamped to -7: s = 9e-4
    theta[at(M, 0, 2, 0)] = 0.5;
    theta[at(M, 1, 2, 0)] = 1;
    theta[at(M, 2, 2, 0)] = -0.7;
    await engine.asyncScope(async () => {
      const y = await dmolSample(replicate(engine, theta, 64), M, { seed: 3, stream: 0 }).read();
      const xg = -0.2 + Math.tanh(0.5);
      const xb = 0.1 + Math.tanh(1) + Math.tanh(-0.7) * xg;
      const tol = Math.exp(-7) * 12; // |logistic noise| <= s * log((1 - 1e-5) / 1e-5)
      for (let p = 0; p < 64; p++) {
        expect(y[p * 3]).toBe(1);
        expect(Math.abs(y[p * 3 + 1]! - xg)).toBeLessThanOrEqual(tol);
        expect(Math.abs(y[p * 3 + 2]! - xb)).toBeLessThanOrEqual(2 * tol);
      }
    });
  });

  /** Chi-square of 16 groups of 16 levels of channel 0 vs the reference's discrete probabilities. */
  async function chiSquare(engine: Engine, theta: number[], nc: 1 | 3, M: number): Promise<{ chi2: number; df: number }> {
    // group j holds levels 16j..16j+15, i.e. x in [(32j - 1)/255 - 1, (32j + 31)/255 - 1); the outer groups take the clipped tails
    const probs = new Array<number>(16).fill(0);
    for (let v = 0; v < 256; v++) {
      const { logPi, logC } = refPixelComponents(theta, 0, nc === 3 ? [gridValue(v), 0, 0] : [gridValue(v)], M);
      for (let k = 0; k < M; k++) probs[v >> 4]! += Math.exp(logPi[k]! + logC[0]![k]!);
    }
    const counts = new Array<number>(16).fill(0);
    let n = 0;
    await engine.asyncScope(async () => {
      const P = replicate(engine, theta, 10000);
      for (const stream of [0, 1, 2]) {
        const y = await dmolSample(P, M, { seed: 77, stream }).read();
        for (let p = 0; p < 10000; p++) {
          const j = Math.min(15, Math.max(0, Math.floor(((y[p * nc]! + 1 + 1 / 255) * 255) / 32)));
          counts[j]!++;
          n++;
        }
      }
    });
    // lump groups with expected count < 5
    let chi2 = 0;
    let df = -1;
    let lumpE = 0;
    let lumpO = 0;
    for (let j = 0; j < 16; j++) {
      const e = probs[j]! * n;
      if (e < 5) {
        lumpE += e;
        lumpO += counts[j]!;
        continue;
      }
      chi2 += (counts[j]! - e) ** 2 / e;
      df++;
    }
    if (lumpE > 0) {
      chi2 += (lumpO - lumpE) ** 2 / Math.max(lumpE, 1e-9);
      df++;
    }
    return { chi2, df };
  }

  // 0.999 quantiles of chi-square with df degrees of freedom
  const CHI2_999: Record<number, number> = { 8: 26.12, 9: 27.88, 10: 29.59, 11: 31.26, 12: 32.91, 13: 34.53, 14: 36.12, 15: 37.7, 16: 39.25 };

  it('RGB and 1-channel: chi-square of a 16-bin histogram of channel 0 against the reference', async () => {
    const engine = await testEngine();
    const M = 3;
    for (const nc of [3, 1] as const) {
      const theta = new Array<number>(K(nc, M)).fill(0);
      [0.4, -0.3, 0.1].forEach((v, k) => (theta[k] = v));
      [-0.6, 0.1, 0.7].forEach((v, k) => (theta[at(M, 0, 0, k)] = v));
      [-1.5, -2, -1.2].forEach((v, k) => (theta[at(M, 0, 1, k)] = v));
      if (nc === 3) for (let i = M + M * 2; i < 10 * M; i++) if (theta[i] === 0) theta[i] = 0.3; // other slots: irrelevant to channel 0
      const theta32 = theta.map(f32);
      const { chi2, df } = await chiSquare(engine, theta32, nc, M);
      const crit = CHI2_999[df];
      expect(crit, `df ${df} not in the table`).toBeDefined();
      expect(chi2, `C=${nc}: chi-square ${chi2.toFixed(2)} with ${df} dof (0.999 quantile ${crit})`).toBeLessThanOrEqual(crit!);
    }
  });

  it('1-channel: mixture choice frequencies follow softmax(logits)', async () => {
    const engine = await testEngine();
    const M = 2;
    const theta = [0.7, -0.2, -0.5, 0.5, -5, -5];
    const p0 = Math.exp(0.7) / (Math.exp(0.7) + Math.exp(-0.2));
    await engine.asyncScope(async () => {
      const N = 20000;
      const y = await dmolSample(replicate(engine, theta, N), M, { seed: 123, stream: 4 }).read();
      let low = 0;
      for (const v of y) {
        expect(Math.min(Math.abs(v + 0.5), Math.abs(v - 0.5)), `sample ${v} is not near a component mean`).toBeLessThan(0.1);
        if (v < 0) low++;
      }
      const f = low / N;
      const sigma = Math.sqrt((p0 * (1 - p0)) / N);
      expect(Math.abs(f - p0), `component 0 chosen ${f}, softmax ${p0} (sigma ${sigma})`).toBeLessThanOrEqual(4 * sigma);
    });
  });
});
