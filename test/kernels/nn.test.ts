// weightNorm, nin and channelMoments against float64 references (forward, gradients, directional check).
import { afterAll, describe, expect, it } from 'vitest';
import { ops, type Engine } from '../../engine/index.js';
import { compare, directionalCheck, mulberry32, randomData, randomInt } from '../reference/gradcheck.js';
import { type RefTensor, ref, shapeStr } from '../reference/tensor.js';
import { matmul as refMatmul } from '../reference/ops.js';
import { disposeTestEngine, roundF32, testEngine, toGpu } from '../helpers/gpu.js';

let engine: Engine;
afterAll(() => disposeTestEngine());

function refWeightNorm(v: RefTensor, g: RefTensor, ax: number): RefTensor {
  const C = v.shape[ax]!;
  const inner = v.shape.slice(ax + 1).reduce((a, b) => a * b, 1);
  const norms = new Float64Array(C);
  v.data.forEach((x, i) => (norms[Math.floor(i / inner) % C] += x * x));
  return ref(v.shape, (i) => (g.data[Math.floor(i / inner) % C]! * v.data[i]!) / Math.sqrt(norms[Math.floor(i / inner) % C]!));
}

/** Numerical vjp of a float64 function (central differences), for the small composites here. */
function numVjp(f: (xs: RefTensor[]) => RefTensor, xs: RefTensor[], gy: RefTensor): RefTensor[] {
  return xs.map((x, k) => {
    const out = ref(x.shape);
    for (let i = 0; i < x.data.length; i++) {
      const h = 1e-6 * Math.max(1, Math.abs(x.data[i]!));
      const plus = xs.map((t, j) => (j === k ? ref(t.shape, (q) => t.data[q]! + (q === i ? h : 0)) : t));
      const minus = xs.map((t, j) => (j === k ? ref(t.shape, (q) => t.data[q]! - (q === i ? h : 0)) : t));
      const fp = f(plus).data;
      const fm = f(minus).data;
      let s = 0;
      for (let q = 0; q < fp.length; q++) s += ((fp[q]! - fm[q]!) / (2 * h)) * gy.data[q]!;
      out.data[i] = s;
    }
    return out;
  });
}

async function checkOp(label: string, inputs: RefTensor[], f: (xs: RefTensor[]) => RefTensor, run: (xs: ReturnType<typeof toGpu>[]) => ReturnType<typeof toGpu>, seed: number): Promise<void> {
  const rng = mulberry32(seed);
  await engine.asyncScope(async () => {
    const xs = inputs.map((t) => toGpu(engine, t, true));
    const y = run(xs);
    const want = f(inputs);
    const fw = compare(label, inputs.map((t) => t.shape), await y.read(), want.data, 1e-5);
    expect(fw.err, `forward: ${fw.message}`).toBeLessThanOrEqual(1e-5);
    const gy = roundF32(randomData(rng, want.shape));
    engine.backward(y, toGpu(engine, gy));
    const refG = numVjp(f, inputs, gy);
    const gpu: Float32Array[] = [];
    for (let i = 0; i < xs.length; i++) {
      gpu.push(await xs[i]!.grad!.read());
      const b = compare(`${label} grad ${i}`, inputs.map((t) => t.shape), gpu[i]!, refG[i]!.data, 1e-4);
      expect(b.err, `backward: ${b.message}`).toBeLessThanOrEqual(1e-4);
    }
    const d = directionalCheck(f, inputs, inputs.map((t) => randomData(rng, t.shape)), gy, gpu);
    expect(d.relErr, `${label}: directional ${d.lhs} vs ${d.rhs}`).toBeLessThanOrEqual(1e-4);
  });
}

describe('nn building blocks', () => {
  it('weightNorm over conv, transposed-conv and dense layouts', async () => {
    engine ??= await testEngine();
    const rng = mulberry32(5);
    const cases: [number[], number][] = [[[3, 3, 5, 7], 3], [[2, 3, 4, 6], 2], [[9, 5], 1], [[5, 4, 3], 2]];
    for (const [shape, ax] of cases) {
      const v = roundF32(randomData(rng, shape));
      const g = roundF32(randomData(rng, [shape[ax]!], 0.5, 2));
      await checkOp(`weightNorm v${shapeStr(shape)} axis ${ax}`, [v, g], ([a, b]) => refWeightNorm(a!, b!, ax), ([a, b]) => ops.weightNorm(a!, b!, ax), randomInt(rng, 1, 1e6));
    }
  });

  it('nin is a matmul over the channel axis, with bias', async () => {
    engine ??= await testEngine();
    const rng = mulberry32(6);
    for (const [B, H, W, Ci, Co] of [[2, 3, 5, 7, 4], [1, 4, 4, 8, 9], [3, 1, 2, 3, 1]] as const) {
      const x = roundF32(randomData(rng, [B, H, W, Ci]));
      const w = roundF32(randomData(rng, [Ci, Co]));
      const b = roundF32(randomData(rng, [Co]));
      const f = ([xx, ww, bb]: RefTensor[]): RefTensor => {
        const y = refMatmul(ref([B * H * W, Ci], xx!.data), ww!);
        return ref([B, H, W, Co], (i) => y.data[i]! + bb!.data[i % Co]!);
      };
      await checkOp(`nin x${shapeStr(x.shape)} w${shapeStr(w.shape)}`, [x, w, b], f, ([xx, ww, bb]) => ops.nin(xx!, ww!, bb!), randomInt(rng, 1, 1e6));
    }
  });

  it('channelMoments gives the per-channel mean and biased variance', async () => {
    engine ??= await testEngine();
    const rng = mulberry32(7);
    const x = roundF32(randomData(rng, [3, 5, 4, 6], -3, 5));
    const { mean, variance } = ops.channelMoments(toGpu(engine, x));
    const m = await mean.read();
    const v = await variance.read();
    for (let c = 0; c < 6; c++) {
      let s = 0;
      let s2 = 0;
      const n = 3 * 5 * 4;
      for (let i = c; i < x.data.length; i += 6) s += x.data[i]!;
      const mu = s / n;
      for (let i = c; i < x.data.length; i += 6) s2 += (x.data[i]! - mu) ** 2;
      expect(Math.abs(m[c]! - mu), `channel ${c} mean`).toBeLessThan(1e-5);
      expect(Math.abs(v[c]! - s2 / n) / (s2 / n), `channel ${c} variance`).toBeLessThan(1e-5);
    }
  });
});
