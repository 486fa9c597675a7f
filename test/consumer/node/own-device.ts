// Type-level use of the parts of the public API that meet the application's own WebGPU objects: its device and
// limits, fromGPUBuffer / gpuBufferBinding with its own buffers and bind groups. Needs WebGPU's types, which a
// consumer has from TypeScript >= 6's DOM lib or, on TypeScript 5.x, from @webgpu/types; test/consumer/run.mjs
// type-checks it there, against the packed declarations. Never run.
import {
  BufferUsage, DeviceLimitsError, ENGINE_LIMITS, Engine, ShaderStage, ops,
  type EngineOptions, type FromGPUBufferOptions, type LimitShortfall, type TensorGPUBinding,
} from 'agave-webgpu';

export async function withOwnDevice(adapter: GPUAdapter): Promise<Engine> {
  const device: GPUDevice = await adapter.requestDevice({ requiredLimits: { ...ENGINE_LIMITS } });
  const options: EngineOptions = { device, poison: false, seed: 1 };
  try {
    return await Engine.create(options);
  } catch (err) {
    if (err instanceof DeviceLimitsError) {
      const s: readonly LimitShortfall[] = err.shortfalls;
      throw new Error(s.map((x) => `${x.limit} ${x.device} < ${x.required}`).join('; '));
    }
    throw err;
  }
}

export async function interop(engine: Engine): Promise<Float32Array> {
  const device: GPUDevice = engine.device;
  const limits: GPUSupportedLimits = engine.limits;
  const buffer: GPUBuffer = device.createBuffer({ size: 1024, usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST });
  const options: FromGPUBufferOptions = { offset: limits.minStorageBufferOffsetAlignment, label: 'mine' };
  const x = engine.fromGPUBuffer(buffer, [4, 8], options);
  const y = ops.exp(x);
  const binding: TensorGPUBinding = engine.gpuBufferBinding(y);
  const layout = device.createBindGroupLayout({ entries: [{ binding: 0, visibility: ShaderStage.COMPUTE, buffer: { type: 'read-only-storage' } }] });
  const group: GPUBindGroup = device.createBindGroup({ layout, entries: [{ binding: 0, resource: binding }] });
  void group;
  x.dispose();
  return y.read();
}
