// ParameterSet (engine/optim.ts): initialisation, Adamax (TF and Theano forms) and Polyak EMA over 10 steps
// against the float64 reference (test/reference/optim.ts, relErr <= 1e-5), gradients both written into the
// gradient arena and accumulated by backward(); zeroGrad; chunked passes (tiny maxChunkElements) giving
// bit-identical results; EMA swap; serialize/load round trip; gradientStats with NaN/Inf present.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ops, type Engine } from '../../engine/index.js';
import { ParameterSet, type ParamSpec } from '../../engine/index.js';
import { compare, mulberry32, type Rng } from '../reference/gradcheck.js';
import { refAdamaxStep, refEmaUpdate, type RefAdamaxState } from '../reference/optim.js';
import { refNormal } from '../reference/philox.js';
import { disposeTestEngine, testEngine } from '../helpers/gpu.js';

const TOL = 1e-5;

let engine: Engine;
beforeAll(async () => {
  engine = await testEngine();
});
afterAll(disposeTestEngine);

const explicit = Float32Array.from({ length: 130 }, (_, i) => Math.fround(Math.sin(i) * 0.3));
const SPECS: ParamSpec[] = [
  { name: 'conv.V', shape: [3, 5, 7], init: { normal: 0.05 } },
  { name: 'conv.g', shape: [7], init: 'ones' },
  { name: 'conv.b', shape: [7], init: 'zeros' },
  { name: 'nin.V', shape: [130], init: explicit },
  { name: 'one', shape: [1], init: { normal: 1 } },
  { name: 'big', shape: [2, 3, 67], init: { normal: 0.5 } },
];
const SIZES = SPECS.map((s) => s.shape.reduce((a, b) => a * b, 1));
const COUNT = SIZES.reduce((a, b) => a + b, 0);

function randomGrad(rng: Rng, n: number): Float32Array {
  // Mixed magnitudes so both branches of max(beta2 u + eps, |g|) are taken; some exact zeros.
  return Float32Array.from({ length: n }, () => {
    const r = rng();
    if (r < 0.05) return 0;
    return Math.fround((rng() - 0.5) * (r < 0.5 ? 2 : 0.01));
  });
}

/** Gradient arena contents, packed in spec order. */
async function packedGrads(set: ParameterSet): Promise<Float32Array> {
  const out = new Float32Array(set.count);
  let k = 0;
  for (const name of set.names) {
    const g = await set.get(name).grad!.read();
    out.set(g, k);
    k += g.length;
  }
  return out;
}

interface Trace {
  params: Float32Array;
  ema: Float32Array;
  v: Float32Array;
  u: Float32Array;
}

/**
 * 10 steps: even steps write random gradients into the gradient arena; odd steps zeroGrad() and backprop
 * L = sum_p sum(c_p * p^2) twice (accumulating in place: g = 4 c_p p). The gradients actually used are read
 * back and fed to the float64 reference, which also checks them against 4 c p.
 */
async function run10(set: ParameterSet, variant: 'tf' | 'theano', check: boolean): Promise<Trace> {
  const rng = mulberry32(77);
  const opts = variant === 'tf' ? {} : { lr: 0.01, beta1: 0.8, beta2: 0.99, eps: 1e-6, variant };
  const hyper = { lr: 0.002, beta1: 0.9, beta2: 0.999, eps: 1e-8, ...opts };
  const init = await set.serialize();
  const ref: RefAdamaxState = { p: Float64Array.from(init.params), v: new Float64Array(COUNT), u: new Float64Array(COUNT) };
  const ema = Float64Array.from(init.params);
  const decay = 0.9;
  set.initEma();
  const coefs = SPECS.map(() => engine.tensor([Math.fround(0.5 + rng())]).keep());
  for (let step = 0; step < 10; step++) {
    if (step % 2 === 0) {
      set.zeroGrad();
      for (const name of set.names) {
        const g = set.get(name).grad!;
        engine.write(g, randomGrad(rng, g.size));
      }
    } else {
      set.zeroGrad();
      for (let rep = 0; rep < 2; rep++) {
        engine.scope(() => {
          let loss = ops.sum(ops.mul(ops.square(set.get(SPECS[0]!.name)), coefs[0]!));
          SPECS.slice(1).forEach((s, i) => (loss = ops.add(loss, ops.sum(ops.mul(ops.square(set.get(s.name)), coefs[i + 1]!)))));
          engine.backward(loss);
          return undefined;
        });
      }
    }
    const g = await packedGrads(set);
    if (check && step % 2 === 1) {
      // the accumulated gradient is 4 c p (p as the GPU holds it)
      const p = (await set.serialize()).params;
      const c = await Promise.all(coefs.map((t) => t.item()));
      const expectGrad = new Float64Array(COUNT);
      let k = 0;
      SIZES.forEach((n, i) => {
        for (let j = 0; j < n; j++, k++) expectGrad[k] = 4 * c[i]! * p[k]!;
      });
      const r = compare(`backward into the gradient arena, step ${step}`, [COUNT], g, expectGrad, 1e-5);
      expect(r.err, r.message).toBeLessThanOrEqual(1e-5);
    }
    set.adamaxStep(opts);
    set.emaUpdate(decay);
    refAdamaxStep(ref, g, hyper);
    refEmaUpdate(ema, ref.p, decay);
  }
  for (const c of coefs) c.dispose();
  const ck = await set.serialize();
  if (check) {
    let k = 0;
    SPECS.forEach((s, i) => {
      const n = SIZES[i]!;
      const r = compare(`adamax(${variant}) 10 steps '${s.name}'`, s.shape, ck.params.subarray(k, k + n), ref.p.subarray(k, k + n), TOL);
      expect(r.err, r.message).toBeLessThanOrEqual(TOL);
      const e = compare(`ema 10 steps '${s.name}'`, s.shape, ck.ema!.subarray(k, k + n), ema.subarray(k, k + n), TOL);
      expect(e.err, e.message).toBeLessThanOrEqual(TOL);
      k += n;
    });
    for (const [what, got, want] of [['v', ck.v!, ref.v], ['u', ck.u!, ref.u]] as const) {
      const r = compare(`adamax(${variant}) 10 steps state ${what}`, [COUNT], got, want, TOL);
      expect(r.err, r.message).toBeLessThanOrEqual(TOL);
    }
  }
  return { params: ck.params, ema: ck.ema!, v: ck.v!, u: ck.u! };
}

describe('ParameterSet', () => {
  it('lays parameters out in aligned arena windows and initialises them', async () => {
    const set = ParameterSet.create(engine, SPECS, 4242);
    expect(set.count).toBe(COUNT);
    expect(set.chunkCount).toBe(1);
    const ck = await set.serialize();
    expect(ck.names).toEqual(SPECS.map((s) => s.name));
    let k = 0;
    for (const [i, s] of SPECS.entries()) {
      const p = set.get(s.name);
      expect(p.requiresGrad).toBe(true);
      expect(p.byteOffset % 256).toBe(0);
      expect(p.grad!.storage).toBe(set.gradArena.storage);
      expect(p.grad!.byteOffset - set.gradArena.byteOffset).toBe(p.byteOffset - set.paramArena.byteOffset);
      const got = ck.params.subarray(k, k + SIZES[i]!);
      if (s.init === 'zeros') expect(got.every((v) => v === 0), s.name).toBe(true);
      else if (s.init === 'ones') expect(got.every((v) => v === 1), s.name).toBe(true);
      else if (s.init instanceof Float32Array) expect([...got]).toEqual([...s.init]);
      else {
        const r = compare(`init normal '${s.name}' (stream ${i})`, s.shape, got, refNormal(SIZES[i]!, 4242, i, 0, (s.init as { normal: number }).normal), 1e-5);
        expect(r.err, r.message).toBeLessThanOrEqual(1e-5);
      }
      k += SIZES[i]!;
    }
    expect(() => set.get('nope')).toThrow(/no parameter 'nope'/);
    expect(() => set.emaUpdate(0.9)).toThrow(/initEma/);
    set.dispose();
  });

  it('Adamax (TF form, defaults) and EMA match the float64 reference over 10 steps', async () => {
    const set = ParameterSet.create(engine, SPECS, 4242);
    await run10(set, 'tf', true);
    set.dispose();
  });

  it('Adamax (Theano AdaMaxAvg form, custom hyper-parameters) matches the reference over 10 steps', async () => {
    const set = ParameterSet.create(engine, SPECS, 4242);
    await run10(set, 'theano', true);
    set.dispose();
  });

  it('chunked passes (maxChunkElements 128) give bit-identical results', async () => {
    const whole = ParameterSet.create(engine, SPECS, 4242);
    const chunked = ParameterSet.create(engine, SPECS, 4242, { maxChunkElements: 150 });
    expect(chunked.chunkElements).toBe(128);
    expect(chunked.chunkCount).toBe(Math.ceil(chunked.arenaSize / 128));
    expect(chunked.chunkCount).toBeGreaterThan(3);
    const a = await run10(whole, 'tf', false);
    const b = await run10(chunked, 'tf', false);
    for (const key of ['params', 'ema', 'v', 'u'] as const) {
      expect(b[key].every((v, i) => v === a[key][i]), `chunked ${key} differs from one-dispatch ${key}`).toBe(true);
    }
    // gradientStats over several chunks equals the one-chunk answer
    const sa = await whole.gradientStats();
    const sb = await chunked.gradientStats();
    expect(sb.finite).toBe(true);
    expect(Math.abs(sb.norm - sa.norm) / sa.norm).toBeLessThan(1e-6);
    whole.dispose();
    chunked.dispose();
  });

  it('zeroGrad clears the whole gradient arena; backward accumulates into it in place', async () => {
    const set = ParameterSet.create(engine, SPECS, 1);
    engine.write(set.gradArena, Float32Array.from({ length: set.arenaSize }, (_, i) => i + 1));
    set.zeroGrad();
    expect((await set.gradArena.read()).every((v) => v === 0), 'zeroGrad left non-zero gradients').toBe(true);
    const g = set.get('conv.g');
    engine.scope(() => {
      engine.backward(ops.sum(ops.mulScalar(g, 3)));
      engine.backward(ops.sum(ops.mulScalar(g, 2)));
      return undefined;
    });
    expect([...(await g.grad!.read())]).toEqual(new Array(7).fill(5));
    set.dispose();
  });

  it('EMA with a decay per parameter name (ranges of the arena, also across chunks) matches the reference', async () => {
    for (const maxChunkElements of [undefined, 128]) {
      const set = ParameterSet.create(engine, SPECS, 5, maxChunkElements ? { maxChunkElements } : {});
      set.initEma();
      const decayOf = (name: string): number => (name.startsWith('conv.') ? 0.9 : name === 'one' ? 0.5 : 0.99);
      const ema = Float64Array.from((await set.serialize()).params);
      for (let step = 0; step < 3; step++) {
        engine.write(set.gradArena, Float32Array.from({ length: set.arenaSize }, (_, i) => Math.sin(i + step)));
        set.adamaxStep();
        const p = (await set.serialize()).params;
        set.emaUpdate(decayOf);
        let k = 0;
        SPECS.forEach((s, i) => {
          const d = decayOf(s.name);
          for (let j = 0; j < SIZES[i]!; j++, k++) ema[k] = d * ema[k]! + (1 - d) * p[k]!;
        });
      }
      const got = (await set.serialize()).ema!;
      const r = compare(`ema per-name decay (chunk ${maxChunkElements ?? 'whole'})`, [COUNT], got, ema, TOL);
      expect(r.err, r.message).toBeLessThanOrEqual(TOL);
      expect(() => set.emaUpdate(() => 2)).toThrow(/decay must be in \[0, 1\], got 2 for 'conv.V'/);
      set.dispose();
    }
  });

  it('withEma runs with the averaged weights and restores the parameters exactly', async () => {
    const set = ParameterSet.create(engine, SPECS, 3);
    set.initEma();
    engine.write(set.gradArena, Float32Array.from({ length: set.arenaSize }, (_, i) => Math.sin(i)));
    set.adamaxStep();
    set.emaUpdate(0.5);
    const before = await set.serialize();
    const big = set.get('big');
    const bigEma = before.ema!.subarray(COUNT - big.size);
    const inside = await set.withEma(async () => {
      expect(() => set.adamaxStep()).toThrow(/swapBack/);
      await expect(set.serialize()).rejects.toThrow(/swapBack/);
      return big.read();
    });
    expect([...inside], 'inside withEma the parameters hold the EMA').toEqual([...bigEma]);
    expect(() => set.withEma(() => {
      throw new Error('boom');
    })).toThrow(/boom/);
    set.swapToEma();
    expect([...(await big.read())]).toEqual([...bigEma]);
    set.swapBack();
    const after = await set.serialize();
    expect(after.params.every((v, i) => v === before.params[i])).toBe(true);
    expect(after.ema!.every((v, i) => v === before.ema![i])).toBe(true);
    set.dispose();
  });

  it('serialize/load round-trips parameters, EMA and optimizer state', async () => {
    const a = ParameterSet.create(engine, SPECS, 10);
    await run10(a, 'tf', false);
    const ck = await a.serialize();
    const b = ParameterSet.create(engine, SPECS, 11);
    b.load(ck);
    const ck2 = await b.serialize();
    for (const key of ['params', 'ema', 'v', 'u'] as const) {
      expect(ck2[key]!.every((v, i) => v === ck[key]![i]), `load/serialize ${key}`).toBe(true);
    }
    // the restored state steps identically
    const g = Float32Array.from({ length: a.arenaSize }, (_, i) => Math.cos(i) * 0.1);
    for (const s of [a, b]) {
      engine.write(s.gradArena, g);
      s.adamaxStep();
      s.emaUpdate(0.99);
    }
    const [x, y] = [await a.serialize(), await b.serialize()];
    expect(y.params.every((v, i) => v === x.params[i])).toBe(true);
    expect(y.ema!.every((v, i) => v === x.ema![i])).toBe(true);
    // mismatches are refused
    expect(() => b.load({ ...ck, names: ck.names.slice(1) })).toThrow(/names differ/);
    expect(() => b.load({ ...ck, shapes: ck.shapes.map((s, i) => (i === 2 ? [8] : s)) })).toThrow(/shape \[8\]/);
    // a checkpoint without state resets it
    b.load({ names: ck.names, shapes: ck.shapes, params: ck.params });
    const ck3 = await b.serialize();
    expect(ck3.ema).toBeUndefined();
    expect(ck3.v!.every((v) => v === 0) && ck3.u!.every((v) => v === 0)).toBe(true);
    a.dispose();
    b.dispose();
  });

  it('gradientStats: norm of the gradient arena, and NaN/Inf detection', async () => {
    for (const maxChunkElements of [undefined, 64]) {
      const set = ParameterSet.create(engine, SPECS, 5, { maxChunkElements });
      const rng = mulberry32(9);
      let sq = 0;
      for (const name of set.names) {
        const g = randomGrad(rng, set.get(name).size);
        for (const v of g) sq += v * v;
        engine.write(set.get(name).grad!, g);
      }
      const s = await set.gradientStats();
      expect(s.finite).toBe(true);
      expect(Math.abs(s.norm - Math.sqrt(sq)) / Math.sqrt(sq), `gradientStats norm ${s.norm} vs ${Math.sqrt(sq)} (chunk ${maxChunkElements})`).toBeLessThan(1e-5);
      const big = set.get('big').grad!;
      const vals = Float32Array.from(await big.read());
      vals[200] = NaN;
      engine.write(big, vals);
      let bad = await set.gradientStats();
      expect(bad.finite, `gradientStats missed a NaN (chunk ${maxChunkElements})`).toBe(false);
      expect(bad.nonFinite).toBe(1);
      expect(bad.norm).toBeNaN();
      vals[200] = 1;
      vals[3] = -Infinity;
      vals[4] = Infinity;
      engine.write(big, vals);
      bad = await set.gradientStats();
      expect(bad.finite, 'gradientStats missed an Inf').toBe(false);
      expect(bad.nonFinite).toBe(2);
      set.zeroGrad();
      expect(await set.gradientStats()).toEqual({ norm: 0, finite: true, nonFinite: 0 });
      set.dispose();
    }
  });

  it('frees everything on dispose', async () => {
    const before = engine.memory().liveBytes;
    const set = ParameterSet.create(engine, SPECS, 5, { maxChunkElements: 64 });
    set.initEma();
    set.adamaxStep();
    set.dispose();
    expect(engine.memory().liveBytes).toBe(before);
  });
});
