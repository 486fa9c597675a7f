// Devices an application makes itself: with WebGPU's default limits and without the `webgpu` package's globals
// (GPUBufferUsage & co.), Engine.create({ device }) works; a device below ENGINE_LIMITS is refused with one
// error listing each limit; ENGINE_LIMITS is what the kernels really need (reflection of every WGSL file);
// errors while creating a kernel name that kernel; docs/API.md's device-limits table is ENGINE_LIMITS
// (`UPDATE_API_DOC=1 npx vitest run test/engine/limits.test.ts` rewrites it).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { create } from 'webgpu';
import { WgslReflect } from 'wgsl_reflect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONV_VARIANTS, DeviceLimitsError, ENGINE_LIMITS, Engine, KERNELS, ParameterSet, fullSource, ops, tiledTile, type ConvProblem, type KernelSource, type RegisteredKernel } from '../../engine/index.js';
import * as gen from '../../engine/generative/index.js';

const SHADERS = fileURLToPath(new URL('../../shaders/', import.meta.url));
/**
 * Every registered kernel by its file under shaders/ (engine/kernels.ts): the row of the file's own name (a file
 * may also be compiled by other rows with other libraries: the mixed-precision variants, ROWS_OF_FILE).
 */
const REGISTERED = new Map<string, RegisteredKernel>(Object.values(KERNELS).filter((k) => k.file.endsWith(`${k.name}.wgsl`)).map((k) => [k.file, k]));
const ROWS_OF_FILE = (file: string): RegisteredKernel[] => Object.values(KERNELS).filter((k) => k.file === file);
/** What the engine compiles for a kernel file: the prelude the registry gives it (libraries, op codes, its family's declarations), then the file. */
function registered(file: string): RegisteredKernel {
  const k = REGISTERED.get(file);
  if (!k) throw new Error(`shaders/${file} is not registered in engine/kernels.ts`);
  return k;
}

/**
 * Override values each kernel runs with: the defaults, plus every workgroup-size specialisation of a variant
 * (conv variants; the tiled matmul's tile shapes) and the ranks of the strided copy and the reductions (their
 * RANK constants have no default).
 */
function overrideSets(kernel: string): Record<string, number>[] {
  const p: ConvProblem = { B: 1, H: 8, W: 8, Cin: 8, Ho: 8, Wo: 8, Cout: 8, T: 9, stride: 1, padTop: 1, padLeft: 1 };
  const ranks = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  if (kernel === 'strided_copy') return ranks.slice(1).map((RANK) => ({ RANK }));
  if (kernel === 'reduce_backward' || kernel === 'where') return ranks.map((RANK) => ({ RANK }));
  if (kernel === 'reduce') return ranks.flatMap((RANK_OUT) => [0, 1, 4, 8].map((RANK_RED) => ({ RANK_OUT, RANK_RED })));
  const sets: Record<string, number>[] = [{}];
  for (const v of CONV_VARIANTS) if (v.kernel.name === kernel && v.overrides) sets.push(v.overrides(p));
  if (kernel === 'matmul_tiled' || kernel === 'matmul_tiled_f16') for (const [M, N] of [[1, 1], [9, 8], [300, 16], [40, 30], [100, 100]] as const) sets.push(tiledTile(M, N).overrides);
  if (kernel === 'reduce_subgroup') return ranks.flatMap((RANK_OUT) => [0, 1, 4, 8].map((RANK_RED) => ({ RANK_OUT, RANK_RED })));
  return sets;
}

interface KernelNeeds {
  file: string;
  storage: number;
  bindings: number;
  uniformBytes: number;
  workgroupBytes: number;
  sizes: [number, number, number][];
}

const SCALAR_BYTES: Record<string, number> = { f32: 4, u32: 4, i32: 4, vec4f: 16, 'vec4<f32>': 16, 'vec4<u32>': 16, vec4u: 16, vec2f: 8, 'vec2<f32>': 8 };

function needsOf(file: string): KernelNeeds {
  const code = readFileSync(SHADERS + file, 'utf8');
  expect(registered(file).code, `${file}: the registry holds the file's text`).toBe(code);
  const reflect = new WgslReflect(fullSource(registered(file)));
  const uniformBytes = Math.max(0, ...reflect.uniforms.map((u) => (u.type as unknown as { size: number }).size));
  let workgroupBytes = 0;
  for (const m of code.matchAll(/var<workgroup>\s+\w+\s*:\s*array<\s*([\w<>]+)\s*,\s*(\d+)u?\s*>/g)) {
    const elem = SCALAR_BYTES[m[1]!];
    if (elem === undefined) throw new Error(`${file}: unknown workgroup element type ${m[1]}`);
    workgroupBytes += elem * Number(m[2]);
  }
  expect(code.match(/var<workgroup>/g)?.length ?? 0, `${file}: every workgroup variable is sized`).toBe([...code.matchAll(/var<workgroup>\s+\w+\s*:\s*array</g)].length);
  const ws = /@workgroup_size\(([^)]*)\)/.exec(code);
  if (!ws) throw new Error(`${file}: no @workgroup_size`);
  const defaults = new Map<string, number>();
  for (const m of code.matchAll(/override\s+(\w+)\s*:\s*\w+\s*=\s*(\d+)u?\s*;/g)) defaults.set(m[1]!, Number(m[2]));
  const sizes = overrideSets(registered(file).name).map((set) => {
    const dims = ws[1]!.split(',').map((t) => t.trim()).filter((t) => t.length > 0).map((t) => {
      const n = /^(\d+)u?$/.exec(t);
      if (n) return Number(n[1]);
      const v = set[t] ?? defaults.get(t);
      if (v === undefined) throw new Error(`${file}: workgroup size ${t} has no value`);
      return v;
    });
    return [dims[0] ?? 1, dims[1] ?? 1, dims[2] ?? 1] as [number, number, number];
  });
  return { file, storage: reflect.storage.length, bindings: reflect.storage.length + reflect.uniforms.length, uniformBytes, workgroupBytes, sizes };
}

// Libraries (shaders/*_lib.wgsl) are prepended to kernels, not kernels themselves.
/** The specification's default limits (https://www.w3.org/TR/webgpu/#limit-default). */
const WEBGPU_DEFAULTS: Record<keyof typeof ENGINE_LIMITS, number> = {
  maxStorageBuffersPerShaderStage: 8, maxBindingsPerBindGroup: 1000, maxBindGroups: 4, maxDynamicUniformBuffersPerPipelineLayout: 8,
  maxUniformBufferBindingSize: 65536, maxStorageBufferBindingSize: 134217728, maxComputeWorkgroupStorageSize: 16384,
  maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupSizeX: 256, maxComputeWorkgroupSizeY: 256, maxComputeWorkgroupSizeZ: 64,
  maxComputeWorkgroupsPerDimension: 65535,
};

const kernelFiles = (readdirSync(SHADERS, { recursive: true }) as string[]).filter((f) => f.endsWith('.wgsl') && !f.endsWith('_lib.wgsl')).sort();

describe('the kernel registry', () => {
  it('registers every WGSL file of shaders/ under its own name, and every registered kernel is a file there', () => {
    expect([...REGISTERED.keys()].sort()).toEqual(kernelFiles);
    expect(new Set(Object.values(KERNELS).map((k) => k.file)), 'every row compiles a file of shaders/').toEqual(new Set(kernelFiles));
    for (const k of Object.values(KERNELS)) expect(k.family, k.file).toBe(k.file.startsWith('generative/') ? 'generative' : 'core');
    // A file compiled by several rows: the same text, other libraries (the mixed-precision variants).
    for (const file of kernelFiles) for (const k of ROWS_OF_FILE(file)) expect(k.code, `${k.name} compiles ${file}`).toBe(registered(file).code);
  });
});

describe('ENGINE_LIMITS is what the kernels need', () => {
  const all = kernelFiles.map(needsOf);
  const max = (f: (k: KernelNeeds) => number): number => Math.max(...all.map(f));

  it('derived from every WGSL file and workgroup-size specialisation', () => {
    expect(all.length).toBeGreaterThan(40);
    // Exact where the table names the kernels that set it; an upper bound elsewhere.
    expect(max((k) => k.storage)).toBe(ENGINE_LIMITS.maxStorageBuffersPerShaderStage);
    expect(max((k) => k.bindings)).toBeLessThanOrEqual(ENGINE_LIMITS.maxBindingsPerBindGroup);
    expect(max((k) => k.uniformBytes)).toBeLessThanOrEqual(ENGINE_LIMITS.maxUniformBufferBindingSize);
    expect(max((k) => k.workgroupBytes)).toBe(ENGINE_LIMITS.maxComputeWorkgroupStorageSize);
    const sizes = all.flatMap((k) => k.sizes);
    expect(Math.max(...sizes.map((s) => s[0] * s[1] * s[2]))).toBe(ENGINE_LIMITS.maxComputeInvocationsPerWorkgroup);
    expect(Math.max(...sizes.map((s) => s[0]))).toBe(ENGINE_LIMITS.maxComputeWorkgroupSizeX);
    expect(Math.max(...sizes.map((s) => s[1]))).toBe(ENGINE_LIMITS.maxComputeWorkgroupSizeY);
    expect(Math.max(...sizes.map((s) => s[2]))).toBe(ENGINE_LIMITS.maxComputeWorkgroupSizeZ);
  });

  it('fits WebGPU\'s default limits (what requestDevice() gives without requiredLimits)', () => {
    for (const [k, v] of Object.entries(ENGINE_LIMITS)) expect(v, k).toBeLessThanOrEqual(WEBGPU_DEFAULTS[k as keyof typeof ENGINE_LIMITS]);
  });

  it("is docs/API.md's device-limits table, row for row", () => {
    const mib = (v: number): string => (v >= 1 << 20 && v % (1 << 20) === 0 ? `${v} (${v / (1 << 20)} MiB)` : String(v));
    const table = [
      '| limit | needed | WebGPU default |',
      '|---|---|---|',
      ...Object.entries(ENGINE_LIMITS).map(([k, v]) => `| ${k} | ${mib(v)} | ${mib(WEBGPU_DEFAULTS[k as keyof typeof ENGINE_LIMITS])} |`),
    ].join('\n');
    const path = fileURLToPath(new URL('../../docs/API.md', import.meta.url));
    const doc = readFileSync(path, 'utf8');
    const m = /(## Device limits\n[\s\S]*?\n)(\| limit \|[^\n]*\n(?:\|[^\n]*\n)*)/.exec(doc);
    expect(m, 'docs/API.md has no table starting "| limit |" under "## Device limits"').not.toBeNull();
    const written = m![2]!.trimEnd();
    if (written !== table && process.env.UPDATE_API_DOC === '1') {
      writeFileSync(path, doc.replace(m![0], `${m![1]}${table}\n`));
      return;
    }
    expect(written, `docs/API.md's device-limits table differs from ENGINE_LIMITS; it should read (or run with UPDATE_API_DOC=1):\n${table}\n`).toBe(table);
  });
});

describe('a device the application requested itself (default limits, no globals)', () => {
  const gpu = create([]); // kept referenced while its devices live (docs/ENGINE.md §1)
  let device: GPUDevice;
  /** The same default limits with the optional features the subgroup and f16 variants need, where offered. */
  let featureDevice: GPUDevice;
  let engine: Engine;
  beforeAll(async () => {
    expect((globalThis as { GPUBufferUsage?: unknown }).GPUBufferUsage, 'this file must run without the webgpu globals').toBeUndefined();
    const adapter = await gpu.requestAdapter();
    device = await adapter!.requestDevice();
    const featureAdapter = await gpu.requestAdapter(); // an adapter makes one device
    featureDevice = await featureAdapter!.requestDevice({ requiredFeatures: (['shader-f16', 'subgroups'] as const).filter((f) => featureAdapter!.features.has(f)) });
    expect(device.limits.maxStorageBuffersPerShaderStage).toBe(8);
    engine = await Engine.create({ device, seed: 7 });
  });
  afterAll(() => {
    engine.dispose();
    device.destroy();
    featureDevice.destroy();
  });

  it('every kernel and workgroup-size specialisation compiles on it without a validation error (those needing features on a device with them)', async () => {
    const failures: string[] = [];
    let compiled = 0;
    for (const kernel of Object.values(KERNELS)) {
      const dev = kernel.features.length ? featureDevice : device;
      if (!kernel.features.every((f) => dev.features.has(f))) continue; // not offered by this adapter (lavapipe offers both)
      for (const constants of overrideSets(kernel.name)) {
        dev.pushErrorScope('validation');
        const module = dev.createShaderModule({ code: fullSource(kernel), label: kernel.name });
        dev.createComputePipeline({ layout: 'auto', compute: { module, constants }, label: kernel.name });
        const err = await dev.popErrorScope();
        if (err) failures.push(`${kernel.name} (${kernel.file}) ${JSON.stringify(constants)}: ${err.message}`);
        compiled++;
      }
    }
    expect(failures).toEqual([]);
    expect(compiled).toBeGreaterThan(Object.keys(KERNELS).length);
  });

  it('a kernel that needs a feature does not compile where the device lacks it (so the engine must not pick it there)', async () => {
    for (const kernel of Object.values(KERNELS).filter((k) => k.features.length > 0)) {
      device.pushErrorScope('validation');
      device.createShaderModule({ code: fullSource(kernel), label: kernel.name });
      const err = await device.popErrorScope();
      expect(err, `${kernel.name} needs ${kernel.features.join(', ')}`).not.toBeNull();
    }
  });

  it('runs forward and backward (gaussianKL, matmul, strided conv, Adamax) and reads back', async () => {
    const n = 300;
    const data = (f: (i: number) => number): Tensor32 => engine.tensor(Float32Array.from({ length: n }, (_, i) => f(i)));
    const mq = data((i) => Math.sin(i));
    const lsq = data((i) => 0.3 * Math.cos(i));
    const mp = data((i) => 0.5 * Math.sin(2 * i));
    const lsp = data((i) => -0.2 + 0.1 * Math.sin(3 * i));
    for (const t of [mq, lsq, mp, lsp]) t.requiresGrad = true;
    engine.backward(ops.sum(gen.gaussianKL(mq, lsq, mp, lsp)));
    const [a, b, c, d] = [await mq.read(), await lsq.read(), await mp.read(), await lsp.read()];
    const [ga, gb, gc, gd] = [await mq.grad!.read(), await lsq.grad!.read(), await mp.grad!.read(), await lsp.grad!.read()];
    for (let i = 0; i < n; i++) {
      const inv = Math.exp(-d[i]!);
      const v = (a[i]! - c[i]!) * inv;
      const rm1 = Math.expm1(2 * (b[i]! - d[i]!));
      expect(ga[i]).toBeCloseTo(v * inv, 5);
      expect(gc[i]).toBeCloseTo(-v * inv, 5);
      expect(gb[i]).toBeCloseTo(rm1, 5);
      expect(gd[i]).toBeCloseTo(-(rm1 + v * v), 5);
    }
    // matmul + strided, padded conv + Adamax on a ParameterSet, all on the application's device.
    const params = ParameterSet.create(engine, [
      { name: 'k', shape: [3, 3, 3, 4], init: { normal: 0.1 } },
      { name: 'w', shape: [4, 5], init: { normal: 0.1 } },
    ], 3);
    const k = params.get('k');
    const w = params.get('w');
    const before = await k.read();
    const loss = engine.scope(() => {
      const x = engine.uniform([2, 8, 8, 3], -1, 1);
      const y = ops.conv2d(x, k, null, { stride: 2, pad: [1, 1, 1, 1] }); // [2, 4, 4, 4]
      const h = ops.matmul(ops.reshape(y, [32, 4]), w);
      const l = ops.mean(ops.square(h));
      engine.backward(l);
      return l;
    });
    expect(Number.isFinite((await loss.read())[0]!)).toBe(true);
    params.adamaxStep({ lr: 0.01 });
    const after = await k.read();
    expect(after.some((x, i) => x !== before[i])).toBe(true);
    params.dispose();
  });
});

type Tensor32 = ReturnType<Engine['tensor']>;

describe('limits and creation errors', () => {
  it('a device below ENGINE_LIMITS is refused with one error listing each limit and the requestDevice call', async () => {
    const limits = { ...ENGINE_LIMITS, maxStorageBuffersPerShaderStage: 4, maxComputeInvocationsPerWorkgroup: 128, minStorageBufferOffsetAlignment: 256, minUniformBufferOffsetAlignment: 256, maxBufferSize: 1 << 28 };
    const fake = { limits, features: new Set<string>() } as unknown as GPUDevice;
    let err: unknown;
    try {
      await Engine.create({ device: fake });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DeviceLimitsError);
    const msg = (err as Error).message;
    expect(msg).toContain(`maxStorageBuffersPerShaderStage: the device has 4, the engine needs ${ENGINE_LIMITS.maxStorageBuffersPerShaderStage}`);
    expect(msg).toContain('maxComputeInvocationsPerWorkgroup: the device has 128, the engine needs 256');
    expect(msg).toContain(`requestDevice({ requiredLimits: { maxStorageBuffersPerShaderStage: ${ENGINE_LIMITS.maxStorageBuffersPerShaderStage}, maxComputeInvocationsPerWorkgroup: 256 } })`);
    expect((err as DeviceLimitsError).shortfalls.map((s) => s.limit)).toEqual(['maxStorageBuffersPerShaderStage', 'maxComputeInvocationsPerWorkgroup']);
  });

  it('a kernel over the device\'s limits is named in the error, not the kernel dispatched before it', async () => {
    const gpu = create([]);
    const device = await (await gpu.requestAdapter())!.requestDevice();
    const engine = await Engine.create({ device });
    const x = engine.ones([4]);
    const y = ops.mean(x);
    const decl = Array.from({ length: 9 }, (_, i) => `@group(0) @binding(${i}) var<storage, read_write> b${i}: array<f32>;`).join('\n');
    const nine: KernelSource = { name: 'nine_buffers_test', code: `${decl}\n@compute @workgroup_size(1) fn main() { ${Array.from({ length: 9 }, (_, i) => `b${i}[0] = 1.0;`).join(' ')} }` };
    const outputs = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`b${i}`, engine.zeros([1])]));
    expect(() => engine.dispatch({ kernel: nine, outputs, workgroups: 1 })).toThrow(/kernel 'nine_buffers_test' binds 9 storage buffers; this device allows 8/);
    // A workgroup over maxComputeInvocationsPerWorkgroup fails in pipeline creation: the error names that kernel.
    const big: KernelSource = { name: 'too_wide_test', code: '@group(0) @binding(0) var<storage, read_write> y: array<f32>;\noverride WG: u32 = 64u;\n@compute @workgroup_size(WG) fn main() { y[0] = 1.0; }' };
    const z = engine.zeros([1]);
    let err: unknown;
    try {
      engine.dispatch({ kernel: big, overrides: { WG: 1024 }, outputs: { y: z }, workgroups: 1 });
      await z.read();
    } catch (e) {
      err = e;
    }
    expect(String(err)).toMatch(/WebGPU error \(while creating kernel 'too_wide_test\|WG=1024'\)[\s\S]*maxComputeWorkgroupSizeX/);
    expect(String(err)).not.toMatch(/last kernel dispatched: 'reduce/);
    void y;
    engine.dispose();
    device.destroy();
  });
});
