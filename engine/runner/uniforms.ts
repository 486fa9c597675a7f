// Per-dispatch parameters (the kernel's `var<uniform> params`): packed by member name into one CPU-side
// arena, bound with a dynamic offset and written to the GPU once per submit, so no buffer is created per
// dispatch. Members are checked against the shader's uniform block (names, u32 ranges, array lengths).
import type { KernelSource } from '../kernels.js';
import type { UniformInfo } from './shaders.js';
import { BufferUsage } from '../webgpu_constants.js';
import type { ParamValue } from './types.js';

const ARENA_BYTES = 1 << 20;
const NONE: Record<string, never> = Object.freeze({}) as Record<string, never>;

export class UniformArena {
  /** The GPU buffer every dispatch's uniform block is bound to (at its dynamic offset). */
  readonly buffer: GPUBuffer;
  private data = new ArrayBuffer(ARENA_BYTES);
  private view = new DataView(this.data);
  private used = 0;
  private readonly align: number;

  constructor(private readonly device: GPUDevice) {
    this.align = Math.max(256, device.limits.minUniformBufferOffsetAlignment);
    this.buffer = device.createBuffer({ size: ARENA_BYTES, usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST, label: 'uniform-arena' });
  }

  /** True when parameters were packed since the last upload(). */
  get pending(): boolean {
    return this.used > 0;
  }

  /** Whether a block of `info`'s size still fits before the next upload (the caller submits first when not). */
  fits(info: UniformInfo): boolean {
    return this.used + this.slot(info) <= ARENA_BYTES;
  }

  private slot(info: UniformInfo): number {
    return Math.ceil(info.size / this.align) * this.align;
  }

  /** Packs `params` for `info` and returns the byte offset to bind it at. */
  pack(kernel: KernelSource, info: UniformInfo, params: Record<string, ParamValue> = NONE): number {
    const base = this.used;
    const view = this.view;
    for (let i = 0; i < info.size; i += 4) view.setUint32(base + i, 0, true);
    let used = 0;
    for (const m of info.members) {
      if (m.padding) continue;
      const v = params[m.name];
      if (v === undefined) throw new Error(`kernel '${kernel.name}': missing parameter '${m.name}'`);
      used++;
      const len = typeof v === 'number' ? 1 : v.length;
      if (len > m.count) throw new Error(`kernel '${kernel.name}': parameter '${m.name}' has ${len} values, room for ${m.count}`);
      for (let j = 0; j < len; j++) {
        const off = base + m.offset + 4 * j;
        const x = typeof v === 'number' ? v : v[j]!;
        if (m.kind === 'f32') view.setFloat32(off, x, true);
        else if (m.kind === 'u32') {
          if (!(x >= 0 && x <= 0xffffffff && Number.isInteger(x))) throw new Error(`kernel '${kernel.name}': parameter '${m.name}' = ${x} is not a u32`);
          view.setUint32(off, x, true);
        } else view.setInt32(off, x, true);
      }
    }
    let given = 0;
    for (const _ in params) given++;
    if (given !== used) {
      const known = new Set(info.members.map((m) => m.name));
      throw new Error(`kernel '${kernel.name}': unknown parameter(s) ${Object.keys(params).filter((k) => !known.has(k)).join(', ')}`);
    }
    this.used += this.slot(info);
    return base;
  }

  /** Writes what was packed to the GPU buffer (before the submit that uses it) and starts over. */
  upload(): void {
    if (this.used === 0) return;
    this.device.queue.writeBuffer(this.buffer, 0, this.data, 0, this.used);
    this.used = 0;
  }

  destroy(): void {
    this.buffer.destroy();
  }
}
