// The engine's runtime contracts: reflection-checked bindings and parameters, errors that name the kernel,
// tape semantics (sums, accumulation, freeing, noGrad), scopes and memory accounting, the buffer pool's
// submit rule, NaN poisoning, 2-D folding of huge dispatches, the Philox RNG, timing, embedding.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine, KERNELS, ops, acquireDevice, type Tensor, type KernelSource } from '../../engine/index.js';
import { refNormal, refUniform } from '../reference/philox.js';
import { relErr } from '../reference/gradcheck.js';

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.create({ poison: true, seed: 7 });
});
afterAll(() => engine.dispose());

describe('kernel runner: reflection checks', () => {
  it('rejects a wrong binding name, a missing binding, a wrong access mode, and bad parameters, naming the shader', () => {
    const x = engine.ones([8]);
    const y = engine.zeros([8]);
    const base = { kernel: KERNELS.unary, overrides: { OP: 0 }, params: { n: 8, s: 0 }, workgroups: 1 };
    expect(() => engine.dispatch({ ...base, inputs: { input: x }, outputs: { y } })).toThrow(/kernel 'unary': binding 'x' was not given/);
    expect(() => engine.dispatch({ ...base, inputs: { x, extra: x }, outputs: { y } })).toThrow(/kernel 'unary': shader has no storage binding 'extra'/);
    expect(() => engine.dispatch({ ...base, inputs: { x, y } })).toThrow(/kernel 'unary': binding 'y' is read_write in the shader but was given as an input/);
    expect(() => engine.dispatch({ ...base, outputs: { x, y } })).toThrow(/kernel 'unary': binding 'x' is read-only in the shader but was given as an output/);
    expect(() => engine.dispatch({ ...base, params: { n: 8 }, inputs: { x }, outputs: { y } })).toThrow(/kernel 'unary': missing parameter 's'/);
    expect(() => engine.dispatch({ ...base, params: { n: 8, s: 0, bogus: 1 }, inputs: { x }, outputs: { y } })).toThrow(/kernel 'unary': unknown parameter\(s\) bogus/);
    expect(() => engine.dispatch({ ...base, params: { n: -1, s: 0 }, inputs: { x }, outputs: { y } })).toThrow(/parameter 'n' = -1 is not a u32/);
    expect(() => engine.dispatch({ ...base, overrides: { NOPE: 1 }, inputs: { x }, outputs: { y } })).toThrow(/shader 'unary' has no override constant 'NOPE'/);
    x.dispose();
    y.dispose();
  });

  it('reports a WGSL compile error with the shader name', async () => {
    const other = await Engine.create();
    const bad: KernelSource = { name: 'broken_test_kernel', code: '@group(0) @binding(0) var<storage, read_write> y: array<f32>;\n@compute @workgroup_size(1) fn main() { y[0] = undefined_thing; }' };
    const y = other.zeros([1]);
    let err: unknown = null;
    try {
      other.dispatch({ kernel: bad, outputs: { y }, workgroups: 1 });
      await other.sync();
      await y.read();
    } catch (e) {
      err = e;
    }
    expect(String(err)).toMatch(/broken_test_kernel/);
    other.dispose();
    // With a prelude (shared WGSL library) the line is reported in the kernel's own file.
    const third = await Engine.create();
    const withPrelude: KernelSource = { name: 'broken_with_prelude', prelude: 'fn helper_a() {}\nfn helper_b() {}\nfn helper_c() {}', code: bad.code };
    const z = third.zeros([1]);
    let err2: unknown = null;
    try {
      third.dispatch({ kernel: withPrelude, outputs: { y: z }, workgroups: 1 });
      await third.sync();
      await z.read();
    } catch (e) {
      err2 = e;
    }
    expect(String(err2)).toMatch(/broken_with_prelude\.wgsl:2:/);
    third.dispose();
  });

  it('rejects a use of a disposed tensor with a clear message', () => {
    const x = engine.ones([4]);
    x.dispose();
    expect(() => ops.exp(x)).toThrow(/already disposed \(dispose\(\) was called\)/);
  });

  it('folds more than 65,535 workgroups into a 2-D grid', async () => {
    const n = 65536 * 256 + 300; // 65,538 workgroups of 256
    const x = engine.full([n], 2);
    const y = ops.mulScalar(x, 3);
    const data = await y.read();
    expect(data[0]).toBe(6);
    expect(data[n - 1]).toBe(6);
    expect(data[65535 * 256 + 17]).toBe(6);
    let bad = 0;
    for (let i = 0; i < n; i++) if (data[i] !== 6) bad++;
    expect(bad, 'elements not written by the folded dispatch').toBe(0);
    x.dispose();
    y.dispose();
  });
});

describe('tensors, pool and memory', () => {
  it('poisons new tensors with NaN when asked, and tensor() round-trips data', async () => {
    const e = engine.empty([5], 'test');
    const v = await e.read();
    expect([...v].every(Number.isNaN)).toBe(true);
    const t = engine.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    expect([...(await t.read())]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(() => engine.tensor([1, 2, 3], [2, 2])).toThrow(/3 values do not fill shape \[2, 2\]/);
    e.dispose();
    t.dispose();
  });

  it('reuses a released buffer only after a submit', () => {
    engine.flush();
    const a = engine.zeros([1000]);
    const bufA = a.gpuBuffer.id;
    a.dispose();
    const b = engine.zeros([1000]);
    expect(b.gpuBuffer.id, 'reused before the command buffer that used it was submitted').not.toBe(bufA);
    b.dispose();
    engine.flush();
    const c = engine.zeros([1000]);
    const d = engine.zeros([1000]);
    expect([c.gpuBuffer.id, d.gpuBuffer.id]).toContain(bufA);
    c.dispose();
    d.dispose();
  });

  it('scope() frees what it does not return, and live memory returns to where it was', async () => {
    await engine.sync();
    const before = engine.memory();
    const kept = engine.scope(() => {
      const a = engine.ones([100]);
      const b = ops.exp(a);
      const c = ops.mulScalar(b, 2);
      return { c };
    }).c;
    expect(engine.memory().liveTensors).toBe(before.liveTensors + 1);
    expect(engine.memory().liveBytes).toBe(before.liveBytes + 400);
    expect((await kept.read())[0]).toBeCloseTo(2 * Math.E, 5);
    kept.dispose();
    expect(engine.memory().liveBytes).toBe(before.liveBytes);
    expect(engine.memory().peakBytes).toBeGreaterThanOrEqual(before.liveBytes + 1200);
  });

  it('reshape is a view that keeps the storage alive until the last user is disposed', async () => {
    const a = engine.tensor([1, 2, 3, 4]);
    const v = ops.reshape(a, [2, 2]);
    a.dispose();
    expect([...(await v.read())]).toEqual([1, 2, 3, 4]);
    v.dispose();
  });
});

describe('arenas', () => {
  it('carves aligned tensors out of one zeroed allocation; gradients accumulate in place there', async () => {
    const { whole, parts } = engine.arena([[3], [2, 70], [5]]);
    expect(parts.map((p) => p.byteOffset)).toEqual([0, 256, 256 + 768]);
    expect(whole.size).toBe(64 + 192 + 64);
    expect([...(await whole.read())].every((v) => v === 0)).toBe(true);
    engine.write(parts[0]!, [1, 2, 3]);
    engine.write(parts[2]!, [5, 6, 7, 8, 9]);
    const w = await whole.read();
    expect([...w.subarray(0, 3)]).toEqual([1, 2, 3]);
    expect([...w.subarray(256, 261)]).toEqual([5, 6, 7, 8, 9]);
    // A parameter whose .grad lives in a gradient arena: backward adds into it in place.
    const grads = engine.arena([[3]]);
    const p = parts[0]!;
    p.requiresGrad = true;
    p.grad = grads.parts[0]!.keep();
    engine.backward(ops.sum(ops.mulScalar(p, 2)));
    engine.backward(ops.sum(ops.square(p)));
    expect([...(await grads.whole.read()).subarray(0, 3)]).toEqual([4, 6, 8]);
    const win = engine.window(whole, 64, [2, 70]);
    expect(win.byteOffset).toBe(256);
    expect(() => engine.window(whole, 3, [2])).toThrow(/not 256-byte aligned/);
    win.dispose();
    grads.whole.dispose();
    p.grad = null;
    grads.parts[0]!.dispose();
    for (const t of [whole, ...parts]) t.dispose();
  });
});

describe('tape autodiff', () => {
  const param = (data: number[], shape?: number[]): Tensor => {
    const t = engine.tensor(data, shape).keep();
    t.requiresGrad = true;
    return t;
  };

  it('sums gradients when a tensor feeds several ops, and accumulates into leaves across backward calls', async () => {
    const x = param([1, 2, 3]);
    const loss = () => engine.scope(() => {
      // L = sum(x*x + 3x) => dL/dx = 2x + 3
      const l = ops.sum(ops.add(ops.mul(x, x), ops.mulScalar(x, 3)));
      engine.backward(l);
      return undefined;
    });
    loss();
    expect([...(await x.grad!.read())]).toEqual([5, 7, 9]);
    loss();
    expect([...(await x.grad!.read())], 'second backward accumulates').toEqual([10, 14, 18]);
    x.dispose();
  });

  it('frees intermediates during backward unless kept, and leaves the tape empty', async () => {
    const x = param([0.5, -1]);
    const before = engine.memory().liveTensors;
    const mid = ops.exp(x);
    const keptMid = ops.tanh(x).keep();
    const l = ops.sum(ops.add(mid, keptMid));
    engine.backward(l);
    expect(engine.tape.length).toBe(0);
    expect(() => mid.assertLive('test')).toThrow(/intermediate freed by backward/);
    expect(keptMid.disposed).toBe(false);
    expect(l.disposed).toBe(false);
    const g = await x.grad!.read();
    expect(g[0]).toBeCloseTo(Math.exp(0.5) + 1 - Math.tanh(0.5) ** 2, 5);
    keptMid.dispose();
    l.dispose();
    x.dispose();
    expect(engine.memory().liveTensors).toBe(before - 1);
  });

  it('records nothing under noGrad and refuses backward from a constant', () => {
    const x = param([1]);
    const y = engine.noGrad(() => ops.exp(x));
    expect(y.requiresGrad).toBe(false);
    expect(engine.tape.length).toBe(0);
    expect(() => engine.backward(y)).toThrow(/does not depend on any tensor with requiresGrad/);
    y.dispose();
    x.dispose();
  });

  it('rejects a non-scalar loss without a gradOutput', () => {
    const x = param([1, 2]);
    const y = ops.exp(x);
    expect(() => engine.backward(y)).toThrow(/pass gradOutput for a non-scalar loss/);
    engine.tape.clear();
    y.dispose();
    x.dispose();
  });
});

describe('Philox RNG', () => {
  it('uniform() equals the float64 reference stream and is reproducible, order-independent and prefix-stable', async () => {
    const n = 5000;
    const u = await engine.uniform([n], -2, 3, { seed: 2 ** 40 + 12345, stream: 9 }).read();
    expect(relErr(u, refUniform(n, 2 ** 40 + 12345, 9, -2, 3))).toBeLessThan(1e-6);
    const again = await engine.uniform([n], -2, 3, { seed: 2 ** 40 + 12345, stream: 9 }).read();
    expect(again).toEqual(u);
    const prefix = await engine.uniform([100], -2, 3, { seed: 2 ** 40 + 12345, stream: 9 }).read();
    expect(prefix).toEqual(u.subarray(0, 100));
    const other = await engine.uniform([n], -2, 3, { seed: 2 ** 40 + 12345, stream: 10 }).read();
    expect(other).not.toEqual(u);
  });

  it('normal() matches the reference, has mean 0 / variance 1, and passes a Kolmogorov-Smirnov test', async () => {
    const n = 100_000;
    const z = await engine.normal([n], 0, 1, { seed: 99, stream: 1 }).read();
    expect(relErr(z.subarray(0, 2000), refNormal(2000, 99, 1).subarray(0, 2000))).toBeLessThan(1e-5);
    let m = 0;
    for (const v of z) m += v;
    m /= n;
    let v2 = 0;
    for (const v of z) v2 += (v - m) ** 2;
    v2 /= n - 1;
    expect(Math.abs(m)).toBeLessThan(4 / Math.sqrt(n));
    expect(Math.abs(v2 - 1)).toBeLessThan(4 * Math.sqrt(2 / n));
    const sorted = Float64Array.from(z).sort();
    const phi = (x: number): number => 0.5 * (1 + erf(x / Math.SQRT2));
    let d = 0;
    for (let i = 0; i < n; i++) {
      const f = phi(sorted[i]!);
      d = Math.max(d, Math.abs(f - i / n), Math.abs(f - (i + 1) / n));
    }
    // KS critical value at alpha = 0.001 is 1.95 / sqrt(n).
    expect(d, `KS statistic ${d}`).toBeLessThan(1.95 / Math.sqrt(n));
  });

  it('the engine stream advances per call and is restorable from its state', async () => {
    const state = { ...engine.rng };
    const a = await engine.uniform([16]).read();
    const b = await engine.uniform([16]).read();
    expect(a).not.toEqual(b);
    engine.rng = { ...state };
    expect(await engine.uniform([16]).read()).toEqual(a);
  });
});

/** Abramowitz-Stegun 7.1.26 is too coarse for KS at n = 1e5; use a series/continued-fraction erf. */
function erf(x: number): number {
  const t = Math.abs(x);
  if (t < 3) {
    let sum = t;
    let term = t;
    for (let k = 1; k < 200; k++) {
      term *= (-t * t) / k;
      const add = term / (2 * k + 1);
      sum += add;
      if (Math.abs(add) < 1e-17) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc continued fraction for large |x|
  let f = 0;
  for (let k = 60; k >= 1; k--) f = (k / 2) / (t + f);
  const erfc = Math.exp(-t * t) / Math.sqrt(Math.PI) / (t + f);
  return Math.sign(x) * (1 - erfc);
}

describe('devices', () => {
  it('says how to install a driver or lavapipe when there is no adapter', async () => {
    const g = globalThis as { navigator?: unknown };
    const saved = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
    Object.defineProperty(globalThis, 'navigator', { value: { gpu: { requestAdapter: async () => null } }, configurable: true });
    try {
      await expect(acquireDevice()).rejects.toThrow(/No WebGPU adapter was found[\s\S]*mesa-vulkan-drivers/);
    } finally {
      if (saved) Object.defineProperty(globalThis, 'navigator', saved);
      else delete g.navigator;
    }
  });

  it('runs on a device handed in by an embedding application and leaves it alive on dispose', async () => {
    const host = await Engine.create();
    const embedded = await Engine.create({ device: host.device });
    const y = ops.addScalar(embedded.ones([3]), 1);
    expect([...(await y.read())]).toEqual([2, 2, 2]);
    embedded.dispose();
    const z = host.ones([2]);
    expect([...(await z.read())]).toEqual([1, 1]);
    host.dispose();
  });

  it('reports per-kernel GPU time when timing is on (skipped, and shown as skipped, without timestamp queries)', async (ctx) => {
    const timed = await Engine.create({ timing: true });
    if (!timed.features.timestampQuery) {
      timed.dispose();
      ctx.skip('the adapter has no timestamp-query feature (lavapipe has none)');
      return;
    }
    const a = timed.uniform([64, 64]);
    ops.matmul(a, a);
    ops.exp(a);
    const t = await timed.timings();
    const names = t.map((r) => r.kernel);
    expect(names.some((n) => n.startsWith('matmul'))).toBe(true);
    expect(names.some((n) => n.startsWith('unary:exp'))).toBe(true);
    expect(t.every((r) => r.calls >= 1 && r.totalMs >= 0)).toBe(true);
    timed.dispose();
  });
});
