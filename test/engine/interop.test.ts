// Zero-copy interop with the application's own WebGPU work, both ways (docs/API.md, "Interop"):
// - Engine.fromGPUBuffer wraps the application's GPUBuffer as a tensor: ops read and write the buffer itself
//   (forward and backward checked against float64), and the engine never frees, pools or reuses it: it stays
//   intact through the tensor's dispose(), the pool's reuse of same-sized buffers, and engine.dispose();
//   bad buffers, offsets and shapes get clear errors, a buffer of another device an error at the next readback.
// - Engine.gpuBufferBinding hands a tensor to the application's own passes (a WGSL kernel of the test's own,
//   on its own pipeline and bind group), after submitting what the engine recorded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create } from 'webgpu';
import { BufferUsage, Engine, MapMode, ops } from '../../engine/index.js';
import { compare, mulberry32, randomData } from '../reference/gradcheck.js';
import { matmul as refMatmul, refVjp } from '../reference/ops.js';
import { ref, type RefTensor } from '../reference/tensor.js';

const STORAGE_RW = BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;
const TOL = 1e-5;

/** Dawn's GPU object stays referenced while its devices live (docs/ENGINE.md §1). */
let dawn: GPU;
/** The application's device (WebGPU's default limits), shared by the engines of this file. */
let device: GPUDevice;

async function appDevice(): Promise<GPUDevice> {
  const adapter = await dawn.requestAdapter();
  if (!adapter) throw new Error('no WebGPU adapter (install Mesa lavapipe; see README)');
  return adapter.requestDevice();
}

beforeAll(async () => {
  dawn = create([]);
  device = await appDevice();
});
afterAll(() => device.destroy());

/** A buffer of the application's, filled with `values` from byte `offset` (the rest zero). */
function appBuffer(values: Float32Array<ArrayBuffer>, offset = 0, usage = STORAGE_RW, size = offset + Math.ceil(values.byteLength / 16) * 16): GPUBuffer {
  const buffer = device.createBuffer({ size, usage: usage | BufferUsage.COPY_DST, label: 'application buffer' });
  device.queue.writeBuffer(buffer, offset, values);
  return buffer;
}

/** The application reads its buffer back itself: its own staging buffer, copy, submit and map. */
async function readAppBuffer(buffer: GPUBuffer, offset: number, count: number): Promise<Float32Array> {
  const staging = device.createBuffer({ size: count * 4, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
  const encoder = device.createCommandEncoder();
  encoder.copyBufferToBuffer(buffer, offset, staging, 0, count * 4);
  device.queue.submit([encoder.finish()]);
  await staging.mapAsync(MapMode.READ);
  const out = new Float32Array(staging.getMappedRange().slice(0));
  staging.unmap();
  staging.destroy();
  return out;
}

const f32 = (t: RefTensor): Float32Array<ArrayBuffer> => Float32Array.from(t.data);

describe('Engine.fromGPUBuffer: the application buffer as a tensor, without a copy', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await Engine.create({ device, poison: true, seed: 5 });
  });
  afterAll(() => engine.dispose());

  it('ops read and write the wrapped buffers, forward and backward, against float64 (with a byte offset)', async () => {
    const rng = mulberry32(25);
    const [M, K, N] = [5, 7, 3];
    const a = randomData(rng, [M, K]);
    const b = randomData(rng, [K, N]);
    const g = randomData(rng, [M, N]);
    const aRounded = ref(a.shape, Float64Array.from(f32(a)));
    const bRounded = ref(b.shape, Float64Array.from(f32(b)));
    const gRounded = ref(g.shape, Float64Array.from(f32(g)));
    // a at byte 256 of a larger buffer (after 64 floats of something else), b at the start of its own buffer.
    const aBuffer = appBuffer(f32(a), 256, STORAGE_RW, 1024);
    const bBuffer = appBuffer(f32(b));
    const x = engine.fromGPUBuffer(aBuffer, [M, K], { offset: 256, label: 'a' });
    const w = engine.fromGPUBuffer(bBuffer, [K, N]);
    x.requiresGrad = true;
    w.requiresGrad = true;
    const yRead = await engine.scope(async () => {
      const y = ops.matmul(x, w).keep();
      engine.backward(y, engine.tensor(f32(g), [M, N]));
      const values = await y.read();
      y.dispose();
      return values;
    });
    const yRef = refMatmul(aRounded, bRounded);
    const [daRef, dbRef] = refVjp('matmul', [aRounded, bRounded], gRounded);
    const fwd = compare('matmul of wrapped buffers', [[M, K], [K, N]], yRead, yRef.data, TOL);
    expect(fwd.err, fwd.message).toBeLessThanOrEqual(TOL);
    const da = compare('d(matmul)/da of a wrapped buffer', [M, K], await x.grad!.read(), daRef!.data, TOL);
    expect(da.err, da.message).toBeLessThanOrEqual(TOL);
    const db = compare('d(matmul)/db of a wrapped buffer', [K, N], await w.grad!.read(), dbRef!.data, TOL);
    expect(db.err, db.message).toBeLessThanOrEqual(TOL);
    // read() of a wrapped tensor copies from the buffer at its offset.
    expect([...(await x.read())]).toEqual([...f32(a)]);

    // An op writing into the wrapped buffer (in place): the application reads the result with its own copy.
    engine.noGrad(() => ops.accumulate(x, engine.full([M, K], 1), 2));
    engine.flush();
    const after = await readAppBuffer(aBuffer, 256, M * K);
    const expected = f32(a).map((v) => Math.fround(v + 2));
    expect([...after]).toEqual([...expected]);
    expect([...(await readAppBuffer(aBuffer, 0, 64))]).toEqual(new Array(64).fill(0)); // the bytes before: untouched
    x.dispose();
    w.dispose();
    aBuffer.destroy();
    bBuffer.destroy();
  });

  it('write() fills the wrapped buffer (COPY_DST), reshape views it, and memory() counts none of it', async () => {
    const buffer = appBuffer(new Float32Array(12));
    const before = engine.memory();
    const t = engine.fromGPUBuffer(buffer, [3, 4]);
    expect(engine.memory().liveBytes).toBe(before.liveBytes);
    engine.write(t, Float32Array.from({ length: 12 }, (_, i) => i));
    const r = ops.reshape(t, [2, 6]);
    const rowSums = ops.sum(r, [1]);
    expect([...(await rowSums.read())]).toEqual([15, 51]);
    expect([...(await readAppBuffer(buffer, 0, 12))]).toEqual(Array.from({ length: 12 }, (_, i) => i));
    for (const x of [t, r, rowSums]) x.dispose();
    expect(engine.memory().liveBytes).toBe(before.liveBytes);
    buffer.destroy();
  });

  it('never hands the buffer to the pool: disposing the tensor leaves it intact while same-sized tensors come and go', async () => {
    const values = Float32Array.from({ length: 64 }, (_, i) => i * 0.5 - 3);
    const buffer = appBuffer(values); // 256 bytes: the pool's smallest bucket
    const t = engine.fromGPUBuffer(buffer, [64]);
    const doubled = ops.mulScalar(t, 2);
    t.dispose();
    engine.flush(); // a released pooled buffer would become reusable here
    for (let i = 0; i < 8; i++) engine.full([64], 1000 + i); // same bucket, written at once
    expect([...(await doubled.read())]).toEqual([...values].map((v) => v * 2));
    expect([...(await readAppBuffer(buffer, 0, 64))]).toEqual([...values]);
    doubled.dispose();
    buffer.destroy();
  });

  it('rejects what it cannot wrap with errors that say what to change', async () => {
    const ok = appBuffer(new Float32Array(64), 0, STORAGE_RW, 1024);
    expect(() => engine.fromGPUBuffer(ok, [64], { offset: 100 })).toThrow(/fromGPUBuffer: offset 100 must be a non-negative multiple of the device's minStorageBufferOffsetAlignment \(256 bytes\)/);
    expect(() => engine.fromGPUBuffer(ok, [64], { offset: -256 })).toThrow(/offset -256 must be a non-negative multiple/);
    expect(() => engine.fromGPUBuffer(ok, [200], { offset: 256, label: 'big' })).toThrow(
      /fromGPUBuffer 'big': \[200\] needs 800 bytes from offset 256 \(800 bytes of float32, rounded up to whole 16 bytes, which kernels bind\), but the buffer has 1024 bytes/,
    );
    expect(() => engine.fromGPUBuffer(ok, [2.5])).toThrow(/fromGPUBuffer: invalid shape \[2.5\]/);
    const exact = device.createBuffer({ size: 12, usage: STORAGE_RW });
    expect(() => engine.fromGPUBuffer(exact, [3])).toThrow(/\[3\] needs 16 bytes from offset 0 \(12 bytes of float32, rounded up to whole 16 bytes/);
    const uniform = device.createBuffer({ size: 256, usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST });
    expect(() => engine.fromGPUBuffer(uniform, [4])).toThrow(/usage \(0x48\) lacks GPUBufferUsage.STORAGE and GPUBufferUsage.COPY_SRC: kernels bind it as storage and read\(\) copies from it/);
    const noCopySrc = device.createBuffer({ size: 256, usage: BufferUsage.STORAGE | BufferUsage.COPY_DST });
    expect(() => engine.fromGPUBuffer(noCopySrc, [4])).toThrow(/lacks GPUBufferUsage.COPY_SRC:/);
    const mapped = device.createBuffer({ size: 256, usage: STORAGE_RW, mappedAtCreation: true });
    expect(() => engine.fromGPUBuffer(mapped, [4])).toThrow(/fromGPUBuffer: the buffer is mapped \(mappedAtCreation or mapAsync\); unmap\(\) it first/);
    mapped.unmap();
    expect(() => engine.fromGPUBuffer(null as unknown as GPUBuffer, [4])).toThrow(/fromGPUBuffer: expected a GPUBuffer \(device.createBuffer\(...\)\), got null/);
    expect(() => engine.fromGPUBuffer(new Float32Array(4) as unknown as GPUBuffer, [4])).toThrow(/expected a GPUBuffer/);
    const readOnly = engine.fromGPUBuffer(device.createBuffer({ size: 256, usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC }), [4], { label: 'weights' });
    expect(() => engine.write(readOnly, [1, 2, 3, 4])).toThrow(/write: tensor \[4\] \(from fromGPUBuffer 'weights'\) views a GPUBuffer without GPUBufferUsage.COPY_DST/);
    readOnly.dispose();
    // Nothing above broke the engine.
    expect([...(await ops.addScalar(engine.ones([2]), 1).read())]).toEqual([2, 2]);
    for (const b of [ok, exact, uniform, noCopySrc, mapped]) b.destroy();
  });

  it('reports a buffer of another device at the next readback, naming fromGPUBuffer, and then works on', async () => {
    const other = await appDevice();
    const foreign = other.createBuffer({ size: 256, usage: STORAGE_RW });
    const t = engine.fromGPUBuffer(foreign, [4], { label: 'foreign' });
    await expect(engine.sync()).rejects.toThrow(/fromGPUBuffer 'foreign': WebGPU rejected the buffer[\s\S]*A buffer of another GPUDevice cannot be used/);
    t.dispose();
    expect([...(await ops.addScalar(engine.ones([2]), 2).read())]).toEqual([3, 3]);
    other.destroy();
  });
});

describe('the wrapped buffer outlives the engine', () => {
  it('survives engine.dispose() intact and usable: by the application, and by a new engine', async () => {
    const values = Float32Array.from({ length: 32 }, (_, i) => Math.sin(i));
    const buffer = appBuffer(values);
    const first = await Engine.create({ device, poison: true });
    const t = first.fromGPUBuffer(buffer, [32]);
    t.requiresGrad = true;
    first.scope(() => first.backward(ops.sum(ops.square(t))));
    const grad = await t.grad!.read();
    expect([...grad]).toEqual([...values].map((v) => Math.fround(2 * v)));
    // A second view, disposed; then the pool destroys every buffer it holds free: not this one.
    first.fromGPUBuffer(buffer, [4, 8]).dispose();
    await first.ones([1]).read(); // a submit: what was released before it is free in the pool now
    first.trimPool();
    first.dispose(); // t is never disposed: the engine's end must not touch the buffer either
    expect([...(await readAppBuffer(buffer, 0, 32))]).toEqual([...values]);

    const second = await Engine.create({ device });
    const again = second.fromGPUBuffer(buffer, [32]);
    const squares = await ops.square(again).read();
    expect([...squares]).toEqual([...values].map((v) => Math.fround(v * v)));
    second.dispose();
    // The device and the buffer are still the application's: it writes and reads the buffer itself.
    device.queue.writeBuffer(buffer, 0, new Float32Array([7, 8]));
    expect([...(await readAppBuffer(buffer, 0, 2))]).toEqual([7, 8]);
    buffer.destroy();
  });
});

// The application's own compute pass: y = 3 * x + 1 over n elements, its own pipeline and bind group.
const APP_KERNEL = `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3u) {
  if (id.x < arrayLength(&x)) { y[id.x] = 3.0 * x[id.x] + 1.0; }
}`;

describe('Engine.gpuBufferBinding: a tensor in the application passes', () => {
  it("submits the engine's recorded work, so the application's pass reads the values; its output goes back in by fromGPUBuffer", async () => {
    const engine = await Engine.create({ device, poison: true });
    const n = 100;
    const x = engine.uniform([n], -1, 1, { seed: 3 });
    const e = ops.exp(x); // recorded, not yet submitted
    const binding = engine.gpuBufferBinding(e);
    expect(binding.offset).toBe(e.byteOffset);
    expect(binding.size).toBe(n * 4);

    const module = device.createShaderModule({ code: APP_KERNEL });
    const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
    const out = device.createBuffer({ size: n * 4 + 16, usage: STORAGE_RW });
    const group = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: binding },
        { binding: 1, resource: { buffer: out, offset: 0, size: n * 4 } },
      ],
    });
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(Math.ceil(n / 64));
    pass.end();
    device.queue.submit([encoder.finish()]);

    // The application's output is an engine tensor again, without a copy.
    const y = engine.fromGPUBuffer(out, [n]);
    const [xs, ys] = [await x.read(), await y.read()];
    const expected = Float64Array.from(xs, (v) => 3 * Math.fround(Math.exp(v)) + 1);
    const r = compare('application pass over gpuBufferBinding(exp(x))', [n], ys, expected, TOL);
    expect(r.err, r.message).toBeLessThanOrEqual(TOL);
    const s = compare('sum over fromGPUBuffer(application output)', [1], [await ops.sum(y).item()], [expected.reduce((a, b) => a + b, 0)], TOL);
    expect(s.err, s.message).toBeLessThanOrEqual(TOL);

    e.dispose();
    expect(() => engine.gpuBufferBinding(e)).toThrow(/gpuBufferBinding: tensor \[100\] \(from \w+\) was already disposed/);
    engine.dispose();
    out.destroy();
  });
});
