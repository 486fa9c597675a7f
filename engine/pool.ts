// Size-bucketed GPU buffer reuse. Buckets are 2^k * {1, 1.25, 1.5, 1.75} so at most 25% is wasted per buffer.
// A released buffer waits in `pending` until the command buffer that last used it has been submitted:
// queue.writeBuffer runs on the queue timeline before any later submit, so handing the buffer out earlier
// could overwrite data a recorded-but-unsubmitted dispatch still reads.
import { BufferUsage } from './webgpu_constants.js';

export interface PooledBuffer {
  readonly buffer: GPUBuffer;
  /** Unique id, used in bind-group cache keys. */
  readonly id: number;
  readonly size: number;
}

export function bucketSize(bytes: number): number {
  const min = 256;
  if (bytes <= min) return min;
  const pow = 2 ** Math.floor(Math.log2(bytes));
  for (const f of [1, 1.25, 1.5, 1.75, 2]) {
    const s = pow * f;
    if (s >= bytes) return Math.ceil(s / 256) * 256;
  }
  return Math.ceil((pow * 2) / 256) * 256;
}

export class BufferPool {
  private free = new Map<number, PooledBuffer[]>();
  private pending: PooledBuffer[] = [];
  private nextId = 1;
  /** Bytes of GPU buffers created by the pool and not destroyed. */
  allocatedBytes = 0;
  /** Bytes currently handed out. */
  inUseBytes = 0;
  peakInUseBytes = 0;

  constructor(private readonly device: GPUDevice, private readonly maxBufferSize: number) {}

  acquire(bytes: number, label: string): PooledBuffer {
    const size = bucketSize(Math.max(bytes, 4));
    if (size > this.maxBufferSize) {
      throw new Error(`Cannot allocate ${bytes} bytes for ${label}: larger than the device's maxBufferSize (${this.maxBufferSize}).`);
    }
    const list = this.free.get(size);
    let pb = list?.pop();
    if (!pb) {
      const usage = BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;
      const buffer = this.device.createBuffer({ size, usage, label });
      pb = { buffer, id: this.nextId++, size };
      this.allocatedBytes += size;
    }
    this.inUseBytes += size;
    this.peakInUseBytes = Math.max(this.peakInUseBytes, this.inUseBytes);
    return pb;
  }

  /**
   * The application's buffer in the pool's bookkeeping shape (Engine.fromGPUBuffer): a fresh id (bind groups
   * are cached by id), not counted, never handed out, released or destroyed.
   */
  external(buffer: GPUBuffer): PooledBuffer {
    return { buffer, id: this.nextId++, size: buffer.size };
  }

  /** Give a buffer back; it becomes reusable after the next submit. */
  release(pb: PooledBuffer): void {
    this.inUseBytes -= pb.size;
    this.pending.push(pb);
  }

  /** Called right after a queue.submit: everything released before it may now be reused. */
  onSubmitted(): void {
    for (const pb of this.pending) {
      let list = this.free.get(pb.size);
      if (!list) this.free.set(pb.size, (list = []));
      list.push(pb);
    }
    this.pending.length = 0;
  }

  /** Destroy all free buffers (e.g. after a phase that used much memory). Returns the bytes freed. */
  trim(onDestroy?: (pb: PooledBuffer) => void): number {
    let freed = 0;
    for (const list of this.free.values()) {
      for (const pb of list) {
        onDestroy?.(pb);
        pb.buffer.destroy();
        freed += pb.size;
      }
    }
    this.free.clear();
    this.allocatedBytes -= freed;
    return freed;
  }
}
