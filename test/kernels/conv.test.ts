// conv2d and convTranspose2d (every variant) against the float64 reference: every kernel size the models use
// (1x1, 1x3, 2x1, 2x2, 2x3, 3x3, 5x5, and tap subsets), strides 1 and 2, asymmetric padding, odd sizes;
// forward, data/weight/bias gradients and the directional check; output shapes and crops of the PixelCNN++
// deconvs; causality (dependency cones) of the shifted convs and of the autoregressive tap set. Cases large
// enough for the split-K weight gradient and several tiles of every variant, and a check that every variant
// registered in engine/conv_variants.ts (and the split-K path of each that has one) actually ran, as the
// engine reports it (runner.onDispatch sees the variant and split in each conv dispatch's label).
import { afterAll, describe, expect, it } from 'vitest';
import { CONV_VARIANTS, ops, type Engine, type Tensor } from '../../engine/index.js';
import { compare, directionalCheck, mulberry32, randomData, randomInt, type Rng } from '../reference/gradcheck.js';
import { type RefTensor, shapeStr } from '../reference/tensor.js';
import { convOutSize, refConv2d, refConv2dVjp, refConvTranspose2d, refConvTranspose2dVjp, type RefConvGeom, type RefDeconvGeom } from '../reference/conv.js';
import { disposeTestEngine, roundF16, roundF32, testEngine, toGpu } from '../helpers/gpu.js';
import { FWD_TOL, BWD_TOL } from '../helpers/opcheck.js';

const KERNEL_SIZES: [number, number][] = [[1, 1], [1, 3], [2, 1], [2, 2], [2, 3], [3, 3], [5, 5]];
const VARIANT_NAMES = [...new Set(CONV_VARIANTS.map((v) => v.name))];

let engine!: Engine;
afterAll(() => disposeTestEngine());

/** What the engine ran, from conv dispatch labels: 'fwd:direct64', 'wgrad:kpar8', 'wgrad:kpar8:split' (splits > 1). */
const ran = new Set<string>();
async function ready(): Promise<void> {
  engine ??= await testEngine();
  engine.runner.onDispatch ??= (_kernel, label) => {
    const m = /^conv2d\.(fwd|dgrad|wgrad):([^:]+)(?::split(\d+))?$/.exec(label ?? '');
    if (!m) return;
    ran.add(`${m[1]}:${m[2]}`);
    if (Number(m[3] ?? 1) > 1) ran.add(`${m[1]}:${m[2]}:split`);
  };
}

interface Checked {
  label: string;
  inputs: RefTensor[];
  run: (xs: Tensor[]) => Tensor;
  fwd: (xs: RefTensor[]) => RefTensor;
  vjp: (xs: RefTensor[], gy: RefTensor) => RefTensor[];
}

/**
 * f16-operand variants (names ending in _f16) get f16-representable inputs and cotangents: the float64 reference
 * then sees what the kernel multiplies, at the f32 tolerances (test/engine/ops.test.ts checks the rounding itself).
 */
async function check(c0: Checked, rng: Rng): Promise<void> {
  const storage = /\[\w+_f16\]/.test(c0.label) ? roundF16 : (t: RefTensor): RefTensor => t;
  const c = { ...c0, inputs: c0.inputs.map(storage) };
  await engine.asyncScope(async () => {
    const xs = c.inputs.map((t) => toGpu(engine, t, true));
    const y = c.run(xs);
    const expected = c.fwd(c.inputs);
    expect(y.shape, `${c.label}: output shape`).toEqual(expected.shape);
    const f = compare(c.label, c.inputs.map((t) => t.shape), await y.read(), expected.data, FWD_TOL);
    expect(f.err, `forward: ${f.message}`).toBeLessThanOrEqual(FWD_TOL);
    const gy = storage(roundF32(randomData(rng, expected.shape)));
    engine.backward(y, toGpu(engine, gy));
    const refGrads = c.vjp(c.inputs, gy);
    const gpuGrads: Float32Array[] = [];
    for (let i = 0; i < xs.length; i++) {
      const gpu = await xs[i]!.grad!.read();
      gpuGrads.push(gpu);
      const b = compare(`${c.label} grad[${['x', 'w', 'bias'][i]}]`, c.inputs.map((t) => t.shape), gpu, refGrads[i]!.data, BWD_TOL);
      expect(b.err, `backward: ${b.message}`).toBeLessThanOrEqual(BWD_TOL);
    }
    const dir = directionalCheck(c.fwd, c.inputs, c.inputs.map((t) => randomData(rng, t.shape)), gy, gpuGrads);
    expect(dir.relErr, `${c.label}: directional ${dir.lhs} vs ${dir.rhs}`).toBeLessThanOrEqual(BWD_TOL);
  });
}

function convCase(rng: Rng, kernel: [number, number], stride: number, variant: string, taps?: [number, number][]): Checked {
  const [KH, KW] = kernel;
  const pad: [number, number, number, number] = [randomInt(rng, 0, KH - 1), randomInt(rng, 0, KH - 1), randomInt(rng, 0, KW - 1), randomInt(rng, 0, KW - 1)];
  const B = randomInt(rng, 1, 2);
  const H = randomInt(rng, Math.max(1, KH - pad[0] - pad[1]), 9);
  const W = randomInt(rng, Math.max(1, KW - pad[2] - pad[3]), 9);
  const Cin = [1, 3, 4, 5, 8, 9][randomInt(rng, 0, 5)]!;
  const Cout = [1, 2, 4, 7, 8, 12][randomInt(rng, 0, 5)]!;
  const t = taps ?? Array.from({ length: KH * KW }, (_, i) => [Math.floor(i / KW), i % KW] as [number, number]);
  const geom: RefConvGeom = { taps: t, stride, pad };
  const withBias = rng() < 0.6;
  const inputs = [roundF32(randomData(rng, [B, H, W, Cin])), roundF32(randomData(rng, [t.length, Cin, Cout]))];
  if (withBias) inputs.push(roundF32(randomData(rng, [Cout])));
  const wShape = taps ? [t.length, Cin, Cout] : [KH, KW, Cin, Cout];
  return {
    label: `conv2d[${variant}] x${shapeStr([B, H, W, Cin])} k${KH}x${KW}${taps ? ` taps${JSON.stringify(taps)}` : ''} s${stride} pad${JSON.stringify(pad)} Cout${Cout}${withBias ? ' +bias' : ''}`,
    inputs,
    run: ([x, w, b]) => ops.conv2d(x!, ops.reshape(w!, wShape), b ?? null, { stride, pad, variant, ...(taps ? { taps } : {}) }),
    fwd: ([x, w, b]) => refConv2d(x!, w!, b ?? null, geom),
    vjp: ([x, w, b], gy) => refConv2dVjp(x!, w!, b ?? null, geom, gy),
  };
}

function deconvCase(rng: Rng, kernel: [number, number], stride: number, crop: [number, number], outOf: (h: number, w: number) => [number, number], variant: string): Checked {
  const [KH, KW] = kernel;
  const B = randomInt(rng, 1, 2);
  const H = randomInt(rng, 1, 6);
  const W = randomInt(rng, 1, 6);
  const Cin = [1, 3, 4, 8, 9][randomInt(rng, 0, 4)]!;
  const Cout = [1, 3, 4, 6, 8][randomInt(rng, 0, 4)]!;
  const outSize = outOf(H, W);
  const geom: RefDeconvGeom = { stride, outSize, crop };
  const withBias = rng() < 0.6;
  const inputs = [roundF32(randomData(rng, [B, H, W, Cin])), roundF32(randomData(rng, [KH, KW, Cout, Cin]))];
  if (withBias) inputs.push(roundF32(randomData(rng, [Cout])));
  return {
    label: `convTranspose2d[${variant}] x${shapeStr([B, H, W, Cin])} k${KH}x${KW} s${stride} crop${JSON.stringify(crop)} out${JSON.stringify(outSize)} Cout${Cout}${withBias ? ' +bias' : ''}`,
    inputs,
    run: ([x, w, b]) => ops.convTranspose2d(x!, w!, b ?? null, { stride, outSize, crop, variant }),
    fwd: ([x, w, b]) => refConvTranspose2d(x!, w!, b ?? null, geom),
    vjp: ([x, w, b], gy) => refConvTranspose2dVjp(x!, w!, b ?? null, geom, gy),
  };
}

describe('conv2d vs float64 reference', () => {
  for (const variant of VARIANT_NAMES) {
    for (const kernel of KERNEL_SIZES) {
      it(`${variant}: ${kernel[0]}x${kernel[1]} kernels, strides 1 and 2, random padding (3 shapes each)`, async () => {
        await ready();
        const rng = mulberry32(1000 + kernel[0] * 10 + kernel[1] + variant.length * 97);
        for (const stride of [1, 2]) for (let i = 0; i < 3; i++) await check(convCase(rng, kernel, stride, variant), rng);
      });
    }
    it(`${variant}: tap subsets (the IAF autoregressive 3x3 tap set and random ones)`, async () => {
      await ready();
      const rng = mulberry32(77 + variant.length);
      const arTaps: [number, number][] = [[1, 1], [1, 2], [2, 0], [2, 1], [2, 2]];
      await check(convCase(rng, [3, 3], 1, variant, arTaps), rng);
      for (let i = 0; i < 3; i++) {
        const all: [number, number][] = [];
        for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) if (rng() < 0.5) all.push([a, b]);
        if (all.length === 0) all.push([1, 1]);
        await check(convCase(rng, [3, 3], randomInt(rng, 1, 2), variant, all), rng);
      }
    });
    it(`${variant}: transposed convs of PixelCNN++ and the IAF decoder (crops and output sizes)`, async () => {
      await ready();
      const rng = mulberry32(4242 + variant.length);
      for (let i = 0; i < 3; i++) {
        // down_shifted_deconv2d [2,3] s2: full (2H+1)x(2W+2), crop rows [0,2H), cols [1,2W+1).
        await check(deconvCase(rng, [2, 3], 2, [0, 1], (h, w) => [2 * h, 2 * w], variant), rng);
        // down_right_shifted_deconv2d [2,2] s2: full (2H+1)x(2W+1), crop rows [0,2H), cols [0,2W).
        await check(deconvCase(rng, [2, 2], 2, [0, 0], (h, w) => [2 * h, 2 * w], variant), rng);
        // IAF-VAE: deconv 3x3 s2 (TF SAME: crop 0) and the 5x5 s2 head (TF SAME from 32: crop 1).
        await check(deconvCase(rng, [3, 3], 2, [0, 0], (h, w) => [2 * h, 2 * w], variant), rng);
        await check(deconvCase(rng, [5, 5], 2, [1, 1], (h, w) => [2 * h, 2 * w], variant), rng);
        await check(deconvCase(rng, [3, 3], 1, [1, 1], (h, w) => [h, w], variant), rng);
      }
    });
  }

  // Past one tile and into the split-K weight gradient (partial sums [splits, T, Cin, Cout], then a sum), as the
  // small and paper configs use them: direct16 tiles 256 rows and direct32 128 rows (their columns, N = Cout or
  // Cin, are at most one tile by construction: maxN 16 and 32), direct64 and tiled64 64x64 (Cin = Cout = 72:
  // two column tiles in every kernel), kpar8 8x8 (ci, co) blocks and splits K = B*Ho*Wo only from 2048 pixels; the direct
  // weight gradients split from 256. Forward, data and weight gradients, bias, directional check.
  interface Big { B: number; H: number; Cin: number; Cout: number; k: [number, number]; stride: number; pad: [number, number, number, number] }
  const BIG: Record<string, Big[]> = {
    direct16: [{ B: 2, H: 12, Cin: 16, Cout: 16, k: [3, 3], stride: 1, pad: [1, 1, 1, 1] }],
    direct32: [{ B: 2, H: 24, Cin: 32, Cout: 32, k: [3, 3], stride: 2, pad: [1, 1, 1, 1] }],
    direct64: [{ B: 2, H: 12, Cin: 72, Cout: 72, k: [2, 3], stride: 1, pad: [1, 0, 1, 1] }],
    tiled64: [{ B: 2, H: 12, Cin: 72, Cout: 72, k: [2, 3], stride: 1, pad: [1, 0, 1, 1] }],
    naive: [{ B: 2, H: 12, Cin: 72, Cout: 72, k: [2, 3], stride: 1, pad: [1, 0, 1, 1] }],
    // The f16-operand variants: the same kernel and tiles as their f32 twins.
    direct16_f16: [{ B: 2, H: 12, Cin: 16, Cout: 16, k: [3, 3], stride: 1, pad: [1, 1, 1, 1] }],
    direct32_f16: [{ B: 2, H: 24, Cin: 32, Cout: 32, k: [3, 3], stride: 2, pad: [1, 1, 1, 1] }],
    direct64_f16: [{ B: 2, H: 12, Cin: 72, Cout: 72, k: [2, 3], stride: 1, pad: [1, 0, 1, 1] }],
    kpar8: [
      { B: 2, H: 32, Cin: 12, Cout: 20, k: [2, 2], stride: 1, pad: [1, 0, 1, 0] }, // vec4 loads
      { B: 1, H: 48, Cin: 5, Cout: 9, k: [1, 1], stride: 1, pad: [0, 0, 0, 0] }, // scalar loads
    ],
  };
  for (const variant of VARIANT_NAMES) {
    it(`${variant}: several tiles and the split-K weight gradient (${(BIG[variant] ?? []).length} shapes)`, async () => {
      await ready();
      const cases = BIG[variant];
      expect(cases, `no large conv case for the registered variant '${variant}'`).toBeDefined();
      const rng = mulberry32(31337 + variant.length);
      for (const c of cases!) {
        const [KH, KW] = c.k;
        const geom: RefConvGeom = { taps: Array.from({ length: KH * KW }, (_, i) => [Math.floor(i / KW), i % KW] as [number, number]), stride: c.stride, pad: c.pad };
        const inputs = [roundF32(randomData(rng, [c.B, c.H, c.H, c.Cin])), roundF32(randomData(rng, [KH * KW, c.Cin, c.Cout])), roundF32(randomData(rng, [c.Cout]))];
        await check(
          {
            label: `conv2d[${variant}] x${shapeStr([c.B, c.H, c.H, c.Cin])} k${KH}x${KW} s${c.stride} pad${JSON.stringify(c.pad)} Cout${c.Cout} +bias`,
            inputs,
            run: ([x, w, b]) => ops.conv2d(x!, ops.reshape(w!, [KH, KW, c.Cin, c.Cout]), b!, { stride: c.stride, pad: c.pad, variant }),
            fwd: ([x, w, b]) => refConv2d(x!, w!, b!, geom),
            vjp: ([x, w, b], gy) => refConv2dVjp(x!, w!, b!, geom, gy),
          },
          rng,
        );
      }
    });
  }

  it('ran every registered conv variant (forward, data and weight gradient) and each split-K weight gradient', () => {
    const registered = new Set<string>();
    for (const v of CONV_VARIANTS) {
      registered.add(`${v.kind}:${v.name}`);
      if (v.splitK) registered.add(`${v.kind}:${v.name}:split`);
    }
    const missing = [...registered].filter((k) => !ran.has(k));
    expect(missing, `registered conv variants no test case ran (kind:name[:split]); ran: ${[...ran].sort().join(', ')}`).toEqual([]);
  });

  it('rejects mismatched channels, bad weights and too-small inputs with the shapes named', async () => {
    await ready();
    const x = engine.zeros([1, 4, 4, 3]);
    expect(() => ops.conv2d(x, engine.zeros([3, 3, 2, 5]), null)).toThrow(/input has 3 channels but the weight \[3, 3, 2, 5\] expects 2/);
    expect(() => ops.conv2d(x, engine.zeros([3, 5]), null)).toThrow(/weight must be \[KH, KW, Cin, Cout\]/);
    expect(() => ops.conv2d(x, engine.zeros([5, 5, 3, 1]), null)).toThrow(/too small for a 5x5 kernel/);
    expect(() => ops.conv2d(x, engine.zeros([3, 3, 3, 2]), engine.zeros([3]))).toThrow(/bias \[3\] must be \[2\]/);
  });
});

describe('causality of shifted and autoregressive convolutions', () => {
  /** Which output positions (i, j) change when input pixel (r, c) changes (any channel). */
  async function dependents(run: (x: Tensor) => Tensor, shape: [number, number, number, number], r: number, c: number): Promise<[number, number][]> {
    return engine.asyncScope(async () => {
      const rng = mulberry32(r * 100 + c);
      const base = randomData(rng, shape);
      const bumped = { shape: base.shape, data: Float64Array.from(base.data) };
      const C = shape[3];
      for (let ch = 0; ch < C; ch++) bumped.data[(r * shape[2] + c) * C + ch]! += 1 + rng();
      const y0 = await run(toGpu(engine, base)).read();
      const y1 = run(toGpu(engine, bumped));
      const d = await y1.read();
      const [, Ho, Wo, Co] = y1.shape as [number, number, number, number];
      const out: [number, number][] = [];
      for (let i = 0; i < Ho; i++)
        for (let j = 0; j < Wo; j++) {
          let changed = false;
          for (let ch = 0; ch < Co; ch++) if (d[(i * Wo + j) * Co + ch] !== y0[(i * Wo + j) * Co + ch]) changed = true;
          if (changed) out.push([i, j]);
        }
      return out;
    });
  }

  it('down_shifted conv [2,3] (pad top 1, left/right 1): output row i depends only on input rows <= i; stride 2 on rows <= 2i', async () => {
    await ready();
    const w = engine.normal([2, 3, 3, 4], 0, 1, { seed: 1 }).keep();
    for (const [r, c] of [[0, 0], [3, 2], [5, 6], [7, 7]] as const) {
      const deps = await dependents((x) => ops.conv2d(x, w, null, { pad: [1, 0, 1, 1] }), [1, 8, 8, 3], r, c);
      expect(deps.length, 'perturbation had no effect at all').toBeGreaterThan(0);
      for (const [i] of deps) expect(i, `input (${r},${c}) changed output row ${i}`).toBeGreaterThanOrEqual(r);
      const deps2 = await dependents((x) => ops.conv2d(x, w, null, { stride: 2, pad: [1, 0, 1, 1] }), [1, 8, 8, 3], r, c);
      for (const [i] of deps2) expect(2 * i, `stride 2: input row ${r} changed output row ${i}`).toBeGreaterThanOrEqual(r);
    }
    w.dispose();
  });

  it('down_right_shifted conv [2,2] (pad top 1, left 1): output (i,j) depends only on inputs (i<=, j<=)', async () => {
    await ready();
    const w = engine.normal([2, 2, 3, 4], 0, 1, { seed: 2 }).keep();
    for (const [r, c] of [[0, 0], [2, 5], [6, 1], [7, 7]] as const) {
      const deps = await dependents((x) => ops.conv2d(x, w, null, { pad: [1, 0, 1, 0] }), [1, 8, 8, 3], r, c);
      expect(deps.length).toBeGreaterThan(0);
      for (const [i, j] of deps) expect(i >= r && j >= c, `input (${r},${c}) changed output (${i},${j})`).toBe(true);
    }
    w.dispose();
  });

  it('down_shifted deconv [2,3] s2 with crop [0,1]: output row p depends only on input rows <= p/2', async () => {
    await ready();
    const w = engine.normal([2, 3, 4, 3], 0, 1, { seed: 3 }).keep();
    for (const [r, c] of [[0, 0], [2, 3], [3, 3]] as const) {
      const deps = await dependents((x) => ops.convTranspose2d(x, w, null, { stride: 2, outSize: [8, 8], crop: [0, 1] }), [1, 4, 4, 3], r, c);
      expect(deps.length).toBeGreaterThan(0);
      for (const [p] of deps) expect(p, `input row ${r} changed output row ${p}`).toBeGreaterThanOrEqual(2 * r);
    }
    w.dispose();
  });

  it('the IAF autoregressive 3x3 tap set (SAME padding) sees only positions >= p in raster order (reverse-raster AR)', async () => {
    await ready();
    const taps: [number, number][] = [[1, 1], [1, 2], [2, 0], [2, 1], [2, 2]];
    const w = engine.normal([5, 3, 4], 0, 1, { seed: 4 }).keep();
    for (const [r, c] of [[0, 0], [3, 4], [5, 0], [5, 5]] as const) {
      const deps = await dependents((x) => ops.conv2d(x, w, null, { pad: [1, 1, 1, 1], taps }), [1, 6, 6, 3], r, c);
      expect(deps.length).toBeGreaterThan(0);
      for (const [i, j] of deps) expect(i * 6 + j <= r * 6 + c, `input (${r},${c}) changed output (${i},${j})`).toBe(true);
    }
    w.dispose();
  });

  it('output sizes: TF SAME stride-2 5x5 stem 32->16 and 3x3 16->8; deconvs back to 2H x 2W', async () => {
    await ready();
    expect(convOutSize(32, 32, { taps: [[4, 4]], stride: 2, pad: [1, 2, 1, 2] })).toEqual([16, 16]);
    const x = engine.zeros([1, 16, 16, 2]);
    expect(ops.conv2d(x, engine.zeros([3, 3, 2, 1]), null, { stride: 2, pad: [0, 1, 0, 1] }).shape).toEqual([1, 8, 8, 1]);
    expect(ops.conv2d(x, engine.zeros([2, 3, 2, 1]), null, { stride: 2, pad: [1, 0, 1, 1] }).shape).toEqual([1, 8, 8, 1]);
    expect(ops.convTranspose2d(engine.zeros([1, 8, 8, 2]), engine.zeros([2, 3, 1, 2]), null, { stride: 2, outSize: [16, 16], crop: [0, 1] }).shape).toEqual([1, 16, 16, 1]);
  });
});
