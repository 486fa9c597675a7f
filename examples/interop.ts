// Example: the engine inside an application's own WebGPU work, without copies either way.
// - The engine runs on the application's GPUDevice (Engine.create({ device })).
// - The application's compute pass writes a data set into its own GPUBuffers (points on two interleaved spirals
//   and their int32 labels); engine.fromGPUBuffer wraps them as tensors, and a classifier trains on them where
//   they lie.
// - engine.gpuBufferBinding hands the model's predicted probabilities to the application's next pass (a count of
//   confident predictions per class), which reads them in place after the engine's work was submitted.
// - engine.dispose() leaves the application's buffers (and device) intact: they are read back afterwards.
//   npm run example interop
import { create } from 'webgpu';
import { BufferUsage, Engine, Layers, MapMode, ops } from 'agave-webgpu';

const gpu = create([]); // keep Dawn's GPU object referenced while its device lives
const adapter = await gpu.requestAdapter();
if (!adapter) throw new Error('no WebGPU adapter (see the README: a GPU driver or Mesa lavapipe)');
const device = await adapter.requestDevice(); // WebGPU's default limits are enough for the engine

/** The application's pass: one WGSL kernel, its own pipeline and bind group, submitted by the application. */
function runPass(code: string, buffers: GPUBufferBinding[], invocations: number): void {
  const module = device.createShaderModule({ code });
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const group = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: buffers.map((resource, binding) => ({ binding, resource })) });
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, group);
  pass.dispatchWorkgroups(Math.ceil(invocations / 64));
  pass.end();
  device.queue.submit([encoder.finish()]);
}

async function readBuffer(buffer: GPUBuffer, offset: number, bytes: number): Promise<ArrayBuffer> {
  const staging = device.createBuffer({ size: bytes, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
  const encoder = device.createCommandEncoder();
  encoder.copyBufferToBuffer(buffer, offset, staging, 0, bytes);
  device.queue.submit([encoder.finish()]);
  await staging.mapAsync(MapMode.READ);
  const copy = staging.getMappedRange().slice(0);
  staging.destroy();
  return copy;
}

// 1. The application's data, made on the GPU by its own pass: N points (x, y) of two spirals, labels 0 / 1.
//    The points start at byte 256 of their buffer (an offset must be a multiple of minStorageBufferOffsetAlignment).
const N = 512;
const points = device.createBuffer({ size: 256 + N * 8, usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC });
const labels = device.createBuffer({ size: N * 4, usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC });
runPass(/* wgsl */ `
  @group(0) @binding(0) var<storage, read_write> points: array<vec2f>;
  @group(0) @binding(1) var<storage, read_write> labels: array<i32>;
  @compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3u) {
    let i = id.x;
    if (i >= ${N}u) { return; }
    let k = i / 2u;
    let r = 0.15 + f32(k) / ${N / 2}.0;
    let t = 3.0 * 3.14159265 * f32(k) / ${N / 2}.0 + 3.14159265 * f32(i % 2u);
    points[32u + i] = vec2f(r * cos(t), r * sin(t));   // 32 vec2f = 256 bytes in
    labels[i] = i32(i % 2u);
  }`, [{ buffer: points }, { buffer: labels }], N);

// 2. The engine on the application's device, the buffers as tensors (no copy).
const engine = await Engine.create({ device, seed: 1 });
const x = engine.fromGPUBuffer(points, [N, 2], { offset: 256, label: 'points' });
const y = engine.fromGPUBuffer(labels, [N], { dtype: 'int32', label: 'labels' });
const nn = new Layers();
const fc1 = nn.linear('fc1', 2, 64, { init: 'heNormal' });
const fc2 = nn.linear('fc2', 64, 64, { init: 'heNormal' });
const fc3 = nn.linear('fc3', 64, 2);
const params = nn.create(engine, { seed: 2 });
const logits = () => fc3.forward(ops.relu(fc2.forward(ops.relu(fc1.forward(x)))));
for (let step = 0; step < 400; step++) {
  params.zeroGrad();
  engine.scope(() => engine.backward(ops.crossEntropy(logits(), y)));
  params.adamStep({ lr: 0.01 });
}
const accuracy = await engine.asyncScope(() => ops.mean(ops.equal(ops.argmax(logits()), y)).item());
console.log(`trained on the application's buffers: training accuracy ${(100 * accuracy).toFixed(1)}% on ${N} spiral points`);

// 3. The predicted probabilities into the application's pass: gpuBufferBinding submits what the engine recorded
//    and says where the tensor lies; the tensor must stay alive until the pass is submitted.
const probabilities = engine.noGrad(() => ops.softmax(logits())).keep();
const counts = device.createBuffer({ size: 16, usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC });
runPass(/* wgsl */ `
  @group(0) @binding(0) var<storage, read> p: array<vec2f>;
  @group(0) @binding(1) var<storage, read_write> counts: array<atomic<u32>, 2>;
  @compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3u) {
    if (id.x >= ${N}u) { return; }
    let q = p[id.x];
    if (q.x > 0.9) { atomicAdd(&counts[0], 1u); }
    if (q.y > 0.9) { atomicAdd(&counts[1], 1u); }
  }`, [engine.gpuBufferBinding(probabilities), { buffer: counts }], N);
probabilities.dispose(); // after the submit: the engine may reuse its memory now
const confident = new Uint32Array(await readBuffer(counts, 0, 8));
console.log(`the application's pass over the engine's probabilities: ${confident[0]} points confidently class 0, ${confident[1]} class 1`);

// 4. The engine goes; the application's buffers stay and hold what they held.
params.dispose();
engine.dispose();
const kept = new Float32Array(await readBuffer(points, 256, N * 8));
const keptLabels = new Int32Array(await readBuffer(labels, 0, N * 4));
const r0 = Math.hypot(kept[0]!, kept[1]!);
console.log(`after engine.dispose(): the application's buffers still hold point 0 at radius ${r0.toFixed(4)} and ${keptLabels.filter((l) => l === 1).length} labels of class 1`);
for (const b of [points, labels, counts]) b.destroy();
device.destroy();
if (!(accuracy > 0.9) || confident[0]! + confident[1]! < N / 2 || Math.abs(r0 - 0.15) > 1e-6 || keptLabels.filter((l) => l === 1).length !== N / 2) {
  console.error('interop: an expectation failed');
  process.exit(1);
}
