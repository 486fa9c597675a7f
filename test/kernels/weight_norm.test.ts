// The all-layers weight norm (engine/weight_norm.ts, shaders/weight_norm*.wgsl) against a float64 reference:
// effective weights, and the gradients of every V and g (float64 central differences of sum(w * R)), for conv,
// transposed-conv, dense and masked autoregressive layouts; accumulated onto existing gradients; in one chunk
// and in an arena split into small chunks (layers straddling a chunk take the composite fallback).
import { afterAll, describe, expect, it } from 'vitest';
import { ParameterSet, WeightNorm, ops, type Engine, type Tensor } from '../../engine/index.js';
import { compare, mulberry32, randomData } from '../reference/gradcheck.js';
import { type RefTensor, ref, shapeStr } from '../reference/tensor.js';
import { disposeTestEngine, roundF32, testEngine } from '../helpers/gpu.js';

let engine: Engine;
afterAll(() => disposeTestEngine());

/** w = g * u / ||u|| per channel of axis ax, u = mask * v (float64). */
function refWeightNorm(v: RefTensor, g: RefTensor, ax: number, mask?: Float32Array): RefTensor {
  const C = v.shape[ax]!;
  const inner = v.shape.slice(ax + 1).reduce((a, b) => a * b, 1);
  const u = ref(v.shape, (i) => v.data[i]! * (mask ? mask[i]! : 1));
  const norms = new Float64Array(C);
  u.data.forEach((x, i) => (norms[Math.floor(i / inner) % C] += x * x));
  return ref(v.shape, (i) => (g.data[Math.floor(i / inner) % C]! * u.data[i]!) / Math.sqrt(norms[Math.floor(i / inner) % C]!));
}

interface Layer {
  name: string;
  shape: number[];
  axis: number;
  mask?: Float32Array;
}

const LAYERS: Layer[] = [
  { name: 'conv', shape: [3, 3, 5, 7], axis: 3 },
  { name: 'deconv', shape: [2, 3, 6, 4], axis: 2 },
  { name: 'nin', shape: [9, 5], axis: 1 },
  // autoregressive taps [T, Cin, Cout]: the centre tap (first) is channel-masked (strictly lower triangular)
  { name: 'ar', shape: [3, 4, 4], axis: 2, mask: Float32Array.from({ length: 48 }, (_, i) => (i < 16 ? (Math.floor(i / 4) < i % 4 ? 1 : 0) : 1)) },
  { name: 'wide', shape: [3, 3, 16, 20], axis: 3 },
];

async function check(maxChunkElements: number | undefined, seed: number, inPlace = false): Promise<{ fused: number; fallback: number }> {
  const rng = mulberry32(seed);
  const vals = new Map<string, { v: RefTensor; g: RefTensor; r: RefTensor; prevV: RefTensor; prevG: RefTensor }>();
  const specs = LAYERS.flatMap((l) => {
    const v = roundF32(randomData(rng, l.shape));
    const g = roundF32(randomData(rng, [l.shape[l.axis]!], 0.5, 2));
    const zero = (shape: number[]): RefTensor => ref(shape, () => 0);
    vals.set(l.name, { v, g, r: roundF32(randomData(rng, l.shape)), prevV: inPlace ? zero(l.shape) : roundF32(randomData(rng, l.shape)), prevG: inPlace ? zero(g.shape) : roundF32(randomData(rng, g.shape)) });
    return [
      { name: `${l.name}.V`, shape: l.shape, init: Float32Array.from(v.data) },
      { name: `${l.name}.g`, shape: g.shape, init: Float32Array.from(g.data) },
      { name: `${l.name}.b`, shape: g.shape, init: 'zeros' as const },
    ];
  });
  const params = ParameterSet.create(engine, specs, 1, maxChunkElements ? { maxChunkElements } : {});
  const wn = WeightNorm.create(params, LAYERS.map((l) => ({ v: `${l.name}.V`, g: `${l.name}.g`, outAxis: l.axis, ...(l.mask ? { mask: l.mask } : {}) })));
  const label = `weightNorm(all layers, chunk ${maxChunkElements ?? 'whole'}${inPlace ? ', in place' : ''})`;
  try {
    // gradients already there are accumulated onto (leaf convention); right after zeroGrad() the weight
    // gradients land in the V slots themselves and are replaced there (no mirror arena)
    if (inPlace) params.zeroGrad();
    else for (const l of LAYERS) {
      engine.write(params.get(`${l.name}.V`).grad!, Float32Array.from(vals.get(l.name)!.prevV.data));
      engine.write(params.get(`${l.name}.g`).grad!, Float32Array.from(vals.get(l.name)!.prevG.data));
    }
    expect(params.gradsAreZero, `${label}: gradsAreZero`).toBe(inPlace);
    await engine.asyncScope(async () => {
      const live0 = engine.memory().liveBytes;
      const w = wn.materialise();
      // the effective weights, the norms and (unless in place) the mirror gradient arena
      const extra = engine.memory().liveBytes - live0;
      const arenaBytes = params.arenaSize * 4;
      if (inPlace) expect(extra, `${label}: bytes allocated`).toBeLessThan(1.5 * arenaBytes);
      else expect(extra, `${label}: bytes allocated`).toBeGreaterThanOrEqual(2 * arenaBytes);
      let loss: Tensor | null = null;
      for (const l of LAYERS) {
        const t = ops.sum(ops.mul(w.get(`${l.name}.V`), engine.tensor(Float32Array.from(vals.get(l.name)!.r.data), l.shape)), [...l.shape.keys()]);
        loss = loss ? ops.add(loss, t) : t;
      }
      for (const l of LAYERS) {
        const { v, g } = vals.get(l.name)!;
        const want = refWeightNorm(v, g, l.axis, l.mask);
        const c = compare(`${label} forward '${l.name}'`, l.shape, await w.get(`${l.name}.V`).read(), want.data, 1e-5);
        expect(c.err, c.message).toBeLessThanOrEqual(1e-5);
      }
      engine.backward(ops.reshape(loss!, [1]));
    });
    for (const l of LAYERS) {
      const { v, g, r, prevV, prevG } = vals.get(l.name)!;
      const f = (vv: RefTensor, gg: RefTensor): number => refWeightNorm(vv, gg, l.axis, l.mask).data.reduce((a, x, i) => a + x * r.data[i]!, 0);
      const fd = (t: RefTensor, other: (x: RefTensor) => number): RefTensor =>
        ref(t.shape, (i) => {
          const h = 1e-6;
          const p = ref(t.shape, (q) => t.data[q]! + (q === i ? h : 0));
          const m = ref(t.shape, (q) => t.data[q]! - (q === i ? h : 0));
          return (other(p) - other(m)) / (2 * h);
        });
      const dv = fd(v, (x) => f(x, g));
      const dg = fd(g, (x) => f(v, x));
      const cv = compare(`${label} dL/dV '${l.name}'`, l.shape, await params.get(`${l.name}.V`).grad!.read(), dv.data.map((x, i) => x + prevV.data[i]!), 1e-4);
      expect(cv.err, cv.message).toBeLessThanOrEqual(1e-4);
      const cg = compare(`${label} dL/dg '${l.name}'`, g.shape, await params.get(`${l.name}.g`).grad!.read(), dg.data.map((x, i) => x + prevG.data[i]!), 1e-4);
      expect(cg.err, cg.message).toBeLessThanOrEqual(1e-4);
      // a layer with a mask gets no gradient on masked elements
      if (l.mask) {
        const got = await params.get(`${l.name}.V`).grad!.read();
        l.mask.forEach((m, i) => {
          if (m === 0) expect(got[i], `${label} '${l.name}' ${shapeStr(l.shape)} masked element ${i}`).toBeCloseTo(prevV.data[i]!, 6);
        });
      }
    }
    return { fused: LAYERS.length - wn.fallback.size, fallback: wn.fallback.size };
  } finally {
    wn.dispose();
    params.dispose();
  }
}

describe('weight norm of every layer at once', () => {
  it('matches float64 in one chunk (one dispatch forward, one backward)', async () => {
    engine ??= await testEngine();
    const r = await check(undefined, 11);
    expect(r).toEqual({ fused: LAYERS.length, fallback: 0 });
  });

  it('matches float64 in place: right after zeroGrad() the weight gradients use the V slots (no mirror arena)', async () => {
    engine ??= await testEngine();
    expect(await check(undefined, 13, true)).toEqual({ fused: LAYERS.length, fallback: 0 });
    expect((await check(512, 14, true)).fallback).toBeGreaterThan(0);
  });

  it('matches float64 with the arena split into chunks, straddling layers falling back to the composite', async () => {
    engine ??= await testEngine();
    const r = await check(512, 12);
    expect(r.fused).toBeGreaterThan(0);
    expect(r.fallback).toBeGreaterThan(0);
  });

  it('costs one dispatch per chunk', async () => {
    engine ??= await testEngine();
    const specs = LAYERS.flatMap((l) => [
      { name: `${l.name}.V`, shape: l.shape, init: { normal: 1 } },
      { name: `${l.name}.g`, shape: [l.shape[l.axis]!], init: 'ones' as const },
    ]);
    const params = ParameterSet.create(engine, specs, 3);
    const wn = WeightNorm.create(params, LAYERS.map((l) => ({ v: `${l.name}.V`, g: `${l.name}.g`, outAxis: l.axis })));
    await engine.asyncScope(async () => {
      const d0 = engine.runner.dispatchCount;
      const w = wn.materialise();
      expect(engine.runner.dispatchCount - d0, 'weightNorm forward dispatches').toBe(1);
      let loss: Tensor | null = null;
      for (const l of LAYERS) {
        const t = ops.sum(w.get(`${l.name}.V`), [...l.shape.keys()]);
        loss = loss ? ops.add(loss, t) : t;
      }
      const d1 = engine.runner.dispatchCount;
      engine.backward(ops.reshape(loss!, [1]));
      const log = engine.runner.dispatchCount - d1;
      expect(log, 'backward dispatches').toBeGreaterThan(0);
      await engine.sync();
    });
    wn.dispose();
    params.dispose();
  });
});
