// Why: Tensor.read() submits and then waits for the GPU, so a loop that reads a value per step stalls the CPU
// (which records the next step) until the GPU is done. A ReadbackRing gathers several small tensors into one
// reusable MAP_READ staging buffer (a small ring, one per read in flight), submits, and hands back a promise:
// the caller records the next step and awaits the values later (pipelined steps).
import type { Engine } from './engine.js';
import type { Tensor } from './tensor.js';
import { BufferUsage, MapMode } from './webgpu_constants.js';

interface Staging {
  buffer: GPUBuffer;
  size: number;
}

export class ReadbackRing {
  private free: Staging[] = [];
  private inFlight = 0;
  private created = 0;
  private destroyed = false;

  /** `depth`: staging buffers kept for reuse (reads beyond it in flight get a temporary buffer). */
  constructor(private readonly engine: Engine, readonly depth = 3) {
    if (!(Number.isInteger(depth) && depth >= 1)) throw new Error(`ReadbackRing: depth must be an integer >= 1, got ${depth}`);
  }

  /** Reads in flight (submitted, not yet mapped). */
  get pending(): number {
    return this.inFlight;
  }

  /** Staging buffers created so far (tests: the ring reuses them). */
  get buffersCreated(): number {
    return this.created;
  }

  /**
   * Copies `parts` (in order, each 4-byte elements) into one staging buffer, submits everything recorded so
   * far, and resolves with their values, one Float32Array per part (reinterpret with `new Uint32Array(a.buffer,
   * a.byteOffset, a.length)` for u32 data). The tensors may be disposed as soon as this returns.
   */
  read(parts: readonly Tensor[]): Promise<Float32Array[]> {
    if (this.destroyed) throw new Error('ReadbackRing.read: the ring was destroyed');
    const bytes = parts.reduce((a, t) => a + t.byteLength, 0);
    const size = Math.max(16, Math.ceil(bytes / 16) * 16);
    for (const t of parts) t.assertLive('ReadbackRing.read');
    const i = this.free.findIndex((s) => s.size >= size);
    const staging = i >= 0 ? this.free.splice(i, 1)[0]! : this.create(size);
    const runner = this.engine.runner;
    const enc = runner.copyEncoder();
    let offset = 0;
    for (const t of parts) {
      if (t.byteLength > 0) enc.copyBufferToBuffer(t.gpuBuffer.buffer, t.byteOffset, staging.buffer, offset, t.byteLength);
      offset += t.byteLength;
    }
    runner.flush();
    this.inFlight++;
    const lengths = parts.map((t) => t.size);
    return staging.buffer.mapAsync(MapMode.READ, 0, size).then(
      () => {
        const all = new Float32Array(staging.buffer.getMappedRange(0, size).slice(0, bytes));
        staging.buffer.unmap();
        this.release(staging);
        runner.checkErrors();
        let at = 0;
        return lengths.map((n) => {
          const a = all.subarray(at, at + n);
          at += n;
          return a;
        });
      },
      (err: unknown) => {
        this.release(staging);
        runner.checkErrors();
        throw err;
      },
    );
  }

  private create(size: number): Staging {
    this.created++;
    return { buffer: this.engine.device.createBuffer({ size, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST, label: 'readback-ring' }), size };
  }

  private release(s: Staging): void {
    this.inFlight--;
    if (this.destroyed || this.free.length >= this.depth) s.buffer.destroy();
    else this.free.push(s);
  }

  /** Destroy the staging buffers (reads still in flight destroy theirs when they complete). */
  destroy(): void {
    this.destroyed = true;
    for (const s of this.free) s.buffer.destroy();
    this.free = [];
  }
}
