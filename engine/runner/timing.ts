// Optional per-kernel GPU timing with timestamp queries: while on, every dispatch gets its own compute pass
// with a begin/end timestamp; at each submit the queries are resolved and read back asynchronously, and summed
// per kernel (and label). Only where the adapter has 'timestamp-query'.
import { BufferUsage, MapMode } from '../webgpu_constants.js';
import type { KernelTiming } from './types.js';

export class GpuTimer {
  private readonly querySet: GPUQuerySet;
  /** WebGPU's maximum query count per set. */
  private readonly capacity = 4096;
  private labels: string[] = [];
  private readonly resolveBuffer: GPUBuffer;
  private reads: Promise<void>[] = [];
  private totals = new Map<string, KernelTiming>();

  constructor(private readonly device: GPUDevice) {
    this.querySet = device.createQuerySet({ type: 'timestamp', count: this.capacity });
    this.resolveBuffer = device.createBuffer({ size: this.capacity * 8, usage: BufferUsage.QUERY_RESOLVE | BufferUsage.COPY_SRC });
  }

  /** Whether one more timed pass fits before the next submit (the caller submits first when not). */
  get full(): boolean {
    return 2 * (this.labels.length + 1) > this.capacity;
  }

  /** The timestamp writes of the next pass, labelled `label`. */
  nextPass(label: string): GPUComputePassTimestampWrites {
    const q = 2 * this.labels.length;
    this.labels.push(label);
    return { querySet: this.querySet, beginningOfPassWriteIndex: q, endOfPassWriteIndex: q + 1 };
  }

  /** Records the resolve of this submit's queries into `encoder`; returns what to start reading once submitted. */
  resolve(encoder: GPUCommandEncoder): (() => void) | null {
    if (!this.labels.length) return null;
    const n = this.labels.length * 2;
    encoder.resolveQuerySet(this.querySet, 0, n, this.resolveBuffer, 0);
    const buffer = this.device.createBuffer({ size: n * 8, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
    encoder.copyBufferToBuffer(this.resolveBuffer, 0, buffer, 0, n * 8);
    const labels = this.labels;
    this.labels = [];
    return () => {
      this.reads.push(
        buffer.mapAsync(MapMode.READ).then(() => {
          const ts = new BigUint64Array(buffer.getMappedRange());
          for (let i = 0; i < labels.length; i++) {
            const ms = Number(ts[2 * i + 1]! - ts[2 * i]!) / 1e6;
            const name = labels[i]!;
            const agg = this.totals.get(name) ?? { kernel: name, calls: 0, totalMs: 0 };
            agg.calls++;
            agg.totalMs += ms;
            this.totals.set(name, agg);
          }
          buffer.unmap();
          buffer.destroy();
        }),
      );
    };
  }

  /** Per-kernel GPU time since the last reset, slowest first (after every read started so far). */
  async timings(reset: boolean): Promise<KernelTiming[]> {
    await Promise.all(this.reads);
    this.reads = [];
    const list = [...this.totals.values()].sort((a, b) => b.totalMs - a.totalMs);
    if (reset) this.totals.clear();
    return list;
  }

  destroy(): void {
    this.querySet.destroy();
    this.resolveBuffer.destroy();
  }
}
