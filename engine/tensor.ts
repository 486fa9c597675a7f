// A GPU tensor: float32 (or int32, for labels and indices), contiguous row-major, any rank. Several tensors may share one storage (reshape is a
// view; so are the parameters carved out of one arena at 256-byte-aligned offsets); the storage's buffer goes
// back to the pool when the last tensor using it is disposed (unless it is the application's own buffer, wrapped
// by Engine.fromGPUBuffer: then the engine only forgets it).
import type { Binding } from './runner/types.js';
import type { PooledBuffer } from './pool.js';

/**
 * The engine a tensor belongs to (`tensor.engine`). This file sits below engine/engine.ts, which creates the
 * tensors, so it names the Engine through this registry instead of importing it: engine.ts fills it in by
 * declaration merging (`declare module './tensor.js' { interface EngineRegistry { engine: Engine } }`). The
 * import graph stays one-way (test/structure/structure.test.ts), and `tensor.engine` is the full Engine.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface EngineRegistry {}
export type TensorEngine = EngineRegistry extends { engine: infer E } ? E : never;

export type Shape = readonly number[];

/**
 * Element type. 'float32' is what every differentiable op computes with; 'int32' holds labels and indices
 * (crossEntropy's labels, gather's indices, argmax's result, oneHot's input). 4 bytes per element either way; a
 * kernel's storage binding of f32 elements takes only float32 tensors, of i32 only int32 (checked per dispatch).
 */
export type DType = 'float32' | 'int32';

export function shapeSize(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function checkShape(shape: Shape, what: string): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`${what}: invalid shape [${shape.join(', ')}] (dimensions must be non-negative integers)`);
  }
  if (shape.length > 8) throw new Error(`${what}: rank ${shape.length} > 8 is not supported (shape [${shape.join(', ')}])`);
}

export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

export function fmtShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export class Storage {
  refs = 1;
  constructor(
    readonly buffer: PooledBuffer,
    readonly bytes: number,
    /** The application's own buffer (Engine.fromGPUBuffer): never pooled, reused or destroyed by the engine. */
    readonly external = false,
  ) {}
}

let nextTensorId = 1;

export class Tensor implements Binding {
  readonly id = nextTensorId++;
  readonly size: number;
  private needsGrad = false;
  /** Accumulated gradient (leaf tensors with requiresGrad only). */
  grad: Tensor | null = null;
  /** `grad` holds zeros nobody has put a gradient into yet (set by its owner, e.g. WeightNorm; see tape.ts sinks). */
  gradFresh = false;
  /** Set by keep(): survives scope() exits and backward()'s freeing of intermediates. */
  kept = false;
  /** The op that produced this tensor, for messages. */
  producer: string;
  private disposedBy: string | null = null;

  constructor(
    readonly engine: TensorEngine,
    readonly shape: Shape,
    readonly storage: Storage,
    producer: string,
    /** Offset into the storage in bytes (a multiple of 256: sub-views of an arena). */
    readonly byteOffset = 0,
    /** Element type: 'int32' tensors hold labels and indices and never take part in autodiff. */
    readonly dtype: DType = 'float32',
  ) {
    this.size = shapeSize(shape);
    this.producer = producer;
  }

  /** When true, ops on this tensor are recorded on the tape and backward() fills `grad` (float32 tensors only). */
  get requiresGrad(): boolean {
    return this.needsGrad;
  }

  set requiresGrad(value: boolean) {
    if (value && this.dtype !== 'float32') throw new Error(`requiresGrad: tensor ${fmtShape(this.shape)} (from ${this.producer}) is ${this.dtype}; only float32 tensors have gradients`);
    this.needsGrad = value;
  }

  get rank(): number {
    return this.shape.length;
  }

  get disposed(): boolean {
    return this.disposedBy !== null;
  }

  /** Throw a clear error if this tensor was freed. */
  assertLive(usedBy: string): void {
    if (this.disposedBy !== null) {
      throw new Error(`${usedBy}: tensor ${fmtShape(this.shape)} (from ${this.producer}) was already disposed (${this.disposedBy}). keep() tensors you need after backward() or scope().`);
    }
  }

  /** The pooled GPU buffer holding the data (Binding interface of the runner). */
  get gpuBuffer(): PooledBuffer {
    return this.storage.buffer;
  }

  get byteLength(): number {
    return this.size * 4;
  }

  /** Copy to the CPU. Submits pending GPU work. An int32 tensor's values come as numbers (exact below 2^24; readInt32() for all). */
  async read(): Promise<Float32Array> {
    this.assertLive('read');
    if (this.dtype === 'int32') return Float32Array.from(await this.readInt32());
    return this.engine.readTensor(this);
  }

  /** Copy an int32 tensor to the CPU, exactly. Submits pending GPU work. */
  async readInt32(): Promise<Int32Array> {
    this.assertLive('readInt32');
    if (this.dtype !== 'int32') throw new Error(`readInt32: tensor ${fmtShape(this.shape)} (from ${this.producer}) is ${this.dtype}; use read()`);
    const f = await this.engine.readTensor(this);
    return new Int32Array(f.buffer, f.byteOffset, f.length);
  }

  /** Read a one-element tensor as a number. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`item(): tensor has shape ${fmtShape(this.shape)}, expected one element`);
    return (await this.read())[0]!;
  }

  dispose(reason = 'dispose() was called'): void {
    if (this.disposedBy !== null) return;
    this.disposedBy = reason;
    this.engine.releaseStorage(this.storage);
    if (this.grad) {
      this.grad.dispose(reason);
      this.grad = null;
    }
  }

  /** Mark as long-lived: scope() exits and backward() will not free it. Returns this. */
  keep(): this {
    this.kept = true;
    this.engine.untrack(this);
    return this;
  }

  toString(): string {
    return `Tensor${fmtShape(this.shape)}${this.dtype === 'int32' ? ':int32' : ''}(${this.producer})`;
  }
}
