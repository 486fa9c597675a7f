// What the runner's callers see (dispatch arguments, bindings, parameter and override values, timings), in a
// module of its own that names no WebGPU object beyond GPUBuffer: the package's declarations reach the
// runner's internals (shader modules, bind groups, query sets) only through this file, so a consumer needs no
// WebGPU types for them (docs/API.md, "TypeScript").
import type { KernelSource } from '../kernels.js';
import type { PooledBuffer } from '../pool.js';

/** Anything bindable as a storage buffer (a Tensor is one): the pooled buffer and the byte range used. */
export interface Binding {
  readonly gpuBuffer: PooledBuffer;
  /** Multiple of minStorageBufferOffsetAlignment (256). */
  readonly byteOffset: number;
  readonly byteLength: number;
  /** The element type (a Tensor's dtype); a binding without one is taken as float32. */
  readonly dtype?: 'float32' | 'int32';
  /** Throws if the data was freed; called with the kernel's name. */
  assertLive?(usedBy: string): void;
}

/**
 * The bytes a storage binding of `byteLength` bytes spans: whole 16-byte units (some kernels read array<vec4f>),
 * at least one. Pooled buffers always have them; Engine.fromGPUBuffer requires them of the application's buffer.
 */
export function bindingBytes(byteLength: number): number {
  return Math.max(16, Math.ceil(byteLength / 16) * 16);
}

export type ParamValue = number | ArrayLike<number>;
export type OverrideValue = number | boolean;

/** One dispatch of a kernel, its storage bindings given by name as B (buffers here, tensors in Engine.dispatch). */
export interface KernelDispatch<B> {
  kernel: KernelSource;
  overrides?: Record<string, OverrideValue>;
  params?: Record<string, ParamValue>;
  inputs?: Record<string, B>;
  outputs?: Record<string, B>;
  /** Workgroup counts, or a total count of workgroups that is folded into 2-D (65,535 per dimension). */
  workgroups: [number, number, number] | number;
  /** Extra label for errors and timings (e.g. the op name). */
  label?: string;
}

export type DispatchArgs = KernelDispatch<Binding>;

export interface KernelTiming {
  kernel: string;
  calls: number;
  totalMs: number;
}
