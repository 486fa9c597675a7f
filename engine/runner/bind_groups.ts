// Bind groups of the runner, cached by (pipeline, buffer ranges): a step's dispatches reuse the same tensors'
// buffers, so most bind groups are created once. Bindings are matched to the shader's storage variables by
// name; what is wrong with a dispatch's bindings is explained exactly (cold path).
import type { KernelSource } from '../kernels.js';
import type { PooledBuffer } from '../pool.js';
import type { PipelineEntry, ShaderInfo, StorageInfo } from './shaders.js';
import { bindingBytes, type Binding } from './types.js';

/** Bytes bound for a binding: bindingBytes of its length, within its buffer. */
function boundSize(b: Binding): number {
  return Math.min(b.gpuBuffer.size - b.byteOffset, bindingBytes(b.byteLength));
}

/**
 * Bind groups kept for reuse, least recently used dropped first. Each live bind group costs the driver a
 * descriptor set (lavapipe: a 4 KiB memory mapping, against Linux's default of 65,530 per process), and a
 * dropped one lives on until garbage collection: a cap in the thousands keeps the hits of a training step's
 * repeated dispatches without holding tens of thousands.
 */
const MAX_BIND_GROUPS = 4096;

export class BindGroupCache {
  private groups = new Map<string, GPUBindGroup>();

  constructor(
    private readonly device: GPUDevice,
    /** The uniform arena's buffer, bound (at a dynamic offset) for kernels with a uniform block. */
    private readonly uniformBuffer: GPUBuffer,
  ) {}

  get(entry: PipelineEntry, kernel: KernelSource, label: string, inputs: Record<string, Binding>, outputs: Record<string, Binding>): GPUBindGroup {
    const { shader } = entry;
    const maxBinding = this.device.limits.maxStorageBufferBindingSize;
    let key = String(entry.id);
    let given = 0;
    for (const _ in inputs) given++;
    for (const _ in outputs) given++;
    for (const s of shader.storage) {
      const b = s.readOnly ? inputs[s.name] : outputs[s.name];
      if (!b) bindingError(kernel, shader, inputs, outputs);
      b.assertLive?.(label);
      if (s.element !== 'raw' && (s.element === 'i32') !== (b.dtype === 'int32')) dtypeError(kernel, label, s, b);
      const size = boundSize(b);
      if (size > maxBinding) throw new Error(`${label === kernel.name ? '' : `${label}: `}kernel '${kernel.name}': binding '${s.name}' is ${size} bytes, over maxStorageBufferBindingSize (${maxBinding})`);
      key += `|${b.gpuBuffer.id}:${b.byteOffset}:${size}`;
    }
    if (given !== shader.storage.length) bindingError(kernel, shader, inputs, outputs);
    let bg = this.groups.get(key);
    if (bg) {
      // most recently used last (Map keeps insertion order)
      this.groups.delete(key);
      this.groups.set(key, bg);
    } else {
      const entries: GPUBindGroupEntry[] = [];
      for (const s of shader.storage) {
        const b = (s.readOnly ? inputs[s.name] : outputs[s.name])!;
        entries.push({ binding: s.binding, resource: { buffer: b.gpuBuffer.buffer, offset: b.byteOffset, size: boundSize(b) } });
      }
      if (shader.uniform) entries.push({ binding: shader.uniform.binding, resource: { buffer: this.uniformBuffer, offset: 0, size: shader.uniform.size } });
      if (this.groups.size >= MAX_BIND_GROUPS) this.groups.delete(this.groups.keys().next().value!);
      bg = this.device.createBindGroup({ layout: shader.bindGroupLayout, entries, label: kernel.name });
      this.groups.set(key, bg);
    }
    return bg;
  }

  /** Forget bind groups that reference a buffer about to be destroyed. */
  forgetBuffer(pb: PooledBuffer): void {
    const tag = `|${pb.id}:`;
    for (const k of this.groups.keys()) if (k.includes(tag)) this.groups.delete(k);
  }
}

function dtypeError(kernel: KernelSource, label: string, s: StorageInfo, b: Binding): never {
  const want = s.element === 'i32' ? 'int32' : 'float32';
  throw new Error(`${label === kernel.name ? '' : `${label}: `}kernel '${kernel.name}': binding '${s.name}' holds ${s.element} elements and takes ${want} tensors, but was given ${b.dtype ?? 'float32'} ${String(b)}` +
    (want === 'float32' ? ' (ops.cast(t, \'float32\') converts int32 labels or indices to numbers)' : ''));
}

/** Explain exactly what is wrong with the bindings given for a kernel. */
function bindingError(kernel: KernelSource, shader: ShaderInfo, inputs: Record<string, Binding>, outputs: Record<string, Binding>): never {
  for (const s of shader.storage) {
    const asInput = inputs[s.name];
    const asOutput = outputs[s.name];
    if (!asInput && !asOutput) throw new Error(`kernel '${kernel.name}': binding '${s.name}' was not given`);
    if (asInput && asOutput) throw new Error(`kernel '${kernel.name}': binding '${s.name}' given as both input and output`);
    if (asOutput && s.readOnly) throw new Error(`kernel '${kernel.name}': binding '${s.name}' is read-only in the shader but was given as an output`);
    if (asInput && !s.readOnly) throw new Error(`kernel '${kernel.name}': binding '${s.name}' is read_write in the shader but was given as an input`);
  }
  const names = new Set(shader.storage.map((s) => s.name));
  for (const name of [...Object.keys(inputs), ...Object.keys(outputs)]) {
    if (!names.has(name)) throw new Error(`kernel '${kernel.name}': shader has no storage binding '${name}' (has: ${[...names].join(', ')})`);
  }
  throw new Error(`kernel '${kernel.name}': bindings do not match the shader`);
}
