// The Engine owns one GPUDevice and everything tied to it: the buffer pool, the kernel runner, the autodiff
// tape, memory scopes and the RNG state. Ops (engine/ops/*) are free functions that take tensors; each tensor
// knows its engine. Nothing here knows about models.
import { acquireDevice, type DeviceFeatures, type DeviceOptions } from './device.js';
import { BufferPool } from './pool.js';
import { Runner, bindingBytes, type KernelDispatch, type KernelTiming } from './runner/runner.js';
import { Storage, Tensor, checkShape, fmtShape, shapeSize, type DType, type Shape } from './tensor.js';
import { Tape } from './tape.js';
import { checkDeviceLimits } from './limits.js';
import { KERNELS, counterOffset, streamWords } from './kernels.js';
import { BufferUsage, MapMode, ShaderStage } from './webgpu_constants.js';
import { Tuner, TUNE_MODES, type TuneBudget, type TuneMode, type TuneReport } from './tuning/tuner.js';
import { browserTuneCache, defaultCacheDir, nodeTuneCache, type TuneCache } from './tuning/cache.js';

// Tensors name their engine through tensor.ts's registry (so tensor.ts need not import this file): it is this Engine.
declare module './tensor.js' {
  interface EngineRegistry {
    engine: Engine;
  }
}

export interface EngineOptions extends DeviceOptions {
  /** Fill every new uninitialised tensor with NaN (tests: an element a kernel forgot to write shows). */
  poison?: boolean;
  /** Seed of the engine's RNG stream (uniform()/normal() without an explicit seed). */
  seed?: number;
  /**
   * Kernel choices by measurement on this device (engine/tuning/tuner.ts): 'off' the static choices, 'cached'
   * (default) the winners cached for this device, 'on' also race what `tune()` finds missing. A library default
   * of 'cached': no time is spent measuring unless the application asks (`engine.tune(record)`).
   */
  tune?: TuneMode;
  /**
   * Where tuned winners persist. Node: a folder (default $XDG_CACHE_HOME/agave-webgpu, else
   * ~/.cache/agave-webgpu); browsers use IndexedDB (localStorage as a fallback). null: nothing is read or written.
   */
  tuneCache?: string | null;
  /**
   * 'f32' (default), or 'mixed': matmuls and convolutions use kernels that hold their operands in f16 and
   * accumulate in f32 (needs shader-f16); everything else stays f32. Training with it needs loss scaling.
   */
  precision?: 'f32' | 'mixed';
}

export interface MemoryStats {
  liveTensors: number;
  liveBytes: number;
  peakBytes: number;
  poolAllocatedBytes: number;
}

/** A dispatch of your own kernel with tensors bound by name (Engine.dispatch). */
export type TensorDispatch = KernelDispatch<Tensor>;

export interface FromGPUBufferOptions {
  /**
   * Byte offset of the first element in the buffer (default 0): a multiple of the device's
   * minStorageBufferOffsetAlignment (256 on most devices).
   */
  offset?: number;
  /** Names the tensor in errors (default 'fromGPUBuffer'). */
  label?: string;
  /** Element type of the buffer's contents (default 'float32'; 'int32' for labels or indices). */
  dtype?: DType;
}

/** Where a tensor's elements lie (Engine.gpuBufferBinding): a GPUBufferBinding for the application's own passes. */
export interface TensorGPUBinding {
  readonly buffer: GPUBuffer;
  /** Bytes from the start of the buffer (a multiple of minStorageBufferOffsetAlignment). */
  readonly offset: number;
  /** 4 bytes per element, row-major (float32, or int32 for an int32 tensor). */
  readonly size: number;
}

export interface RandomOptions {
  /** Explicit seed; without it the engine's seed is used with a fresh stream number per call. */
  seed?: number;
  stream?: number;
  /**
   * Counter offset (a non-negative integer, default 0): element i draws the value element offset + i of the
   * same draw has, so a part of a larger tensor (a data-parallel rank's images of a global batch: offset =
   * images before its part x elements per image) gets exactly that part's values.
   */
  offset?: number;
}

type Tracked = Set<Tensor>;

function checkDType(dtype: DType, what: string): void {
  if (dtype !== 'float32' && dtype !== 'int32') throw new Error(`${what}: dtype must be 'float32' or 'int32', got ${String(dtype)}`);
}

/** CPU values as the bytes of a tensor of `dtype`: float32 rounded; int32 checked to be integers in range. */
function hostData(data: ArrayLike<number>, dtype: DType, what: string): Float32Array | Int32Array {
  if (dtype === 'float32') return data instanceof Float32Array ? data : Float32Array.from(data);
  if (data instanceof Int32Array) return data;
  const out = new Int32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) throw new Error(`${what}: int32 value ${v} at index ${i} is not an integer in [-2^31, 2^31)`);
    out[i] = v;
  }
  return out;
}

export class Engine {
  readonly tape = new Tape(this);
  readonly limits: GPUSupportedLimits;
  private scopes: Tracked[] = [];
  private live = new Set<Storage>();
  private liveBytes = 0;
  private peakBytes = 0;
  private destroyed = false;
  private writes = 0;
  /** Bind-group layout of fromGPUBuffer's device check (one read-only storage buffer), made on first use. */
  private probeLayout: GPUBindGroupLayout | null = null;
  /** RNG state: seed and the next stream number; save it in checkpoints to resume identically. */
  rng: { seed: number; stream: number };

  private constructor(
    readonly device: GPUDevice,
    readonly features: DeviceFeatures,
    readonly description: string,
    private readonly ownsDevice: boolean,
    readonly pool: BufferPool,
    readonly runner: Runner,
    readonly poison: boolean,
    seed: number,
    /** Kernel choices by measurement (engine/tuning/tuner.ts); ops ask it which variant to use. */
    readonly tuner: Tuner,
  ) {
    this.limits = device.limits;
    this.rng = { seed, stream: 0 };
  }

  /**
   * Creates the engine on a new device (Dawn in Node, navigator.gpu in a browser; the adapter's own limits are
   * requested) or on `options.device`. A device whose limits are below ENGINE_LIMITS is refused with one
   * DeviceLimitsError listing each limit to request; WebGPU's default limits suffice.
   */
  static async create(options: EngineOptions = {}): Promise<Engine> {
    const acquired = await acquireDevice(options);
    const { device } = acquired;
    try {
      checkDeviceLimits(device.limits);
    } catch (err) {
      if (acquired.owned) device.destroy();
      throw err;
    }
    const mode = options.tune ?? 'cached';
    if (!TUNE_MODES.includes(mode)) throw new Error(`Engine.create: tune must be one of ${TUNE_MODES.join(', ')}, got '${String(mode)}'`);
    const precision = options.precision ?? 'f32';
    if (precision !== 'f32' && precision !== 'mixed') throw new Error(`Engine.create: precision must be 'f32' or 'mixed', got '${String(precision)}'`);
    if (precision === 'mixed' && !acquired.features.shaderF16) {
      if (acquired.owned) device.destroy();
      throw new Error(`Engine.create: precision 'mixed' needs the adapter feature shader-f16, which ${acquired.description} does not offer (use precision 'f32')`);
    }
    let cache: TuneCache | null = null;
    if (mode !== 'off' && options.tuneCache !== null) {
      const node = typeof (globalThis as { process?: { versions?: { node?: unknown } } }).process?.versions?.node === 'string';
      cache = node ? nodeTuneCache(options.tuneCache ?? (await defaultCacheDir())) : browserTuneCache();
    }
    const id = acquired.identity;
    const tuner = new Tuner(mode, { features: acquired.features, subgroupMinSize: id.subgroupMinSize, subgroupMatrixConfigs: id.subgroupMatrixConfigs, mixedPrecision: precision === 'mixed' }, cache, { device: id.device, backend: id.backend });
    await tuner.load();
    const pool = new BufferPool(device, device.limits.maxBufferSize);
    const runner = new Runner(device, pool, options.timing ?? false);
    return new Engine(device, acquired.features, acquired.description, acquired.owned, pool, runner, options.poison ?? false, options.seed ?? 1, tuner);
  }

  /** 'mixed' when matmuls and convolutions hold their operands in f16 (EngineOptions.precision). */
  get precision(): 'f32' | 'mixed' {
    return this.tuner.caps.mixedPrecision ? 'mixed' : 'f32';
  }

  /**
   * Tunes the kernel choices `record` needs (mode 'on'; in 'off' and 'cached' it only reports): `record` runs as
   * a dry run (as preparePipelines: nothing executes; it must not read back), noting each op's problem bucket
   * that has no winner yet; then each is raced on this device (candidates checked against the static choice,
   * then timed) within `budget`, and the winners are cached. Without `record`, the buckets ops noted so far.
   */
  async tune(record?: () => void, budget: TuneBudget = {}): Promise<TuneReport> {
    if (record) await this.preparePipelines(record);
    const report = await this.tuner.tunePending(this, budget);
    // The races' inputs and outputs went back to the pool; the workload will not reuse most of them.
    if (report.tuned > 0) this.trimPool();
    return report;
  }

  // ---- tensors -------------------------------------------------------------------------------------------

  private register(t: Tensor): Tensor {
    const top = this.scopes[this.scopes.length - 1];
    if (top) top.add(t);
    return t;
  }

  private newStorage(bytes: number, label: string): Storage {
    if (this.destroyed) throw new Error(`${label}: the engine was disposed`);
    const s = new Storage(this.pool.acquire(bytes, label), bytes);
    this.live.add(s);
    this.liveBytes += bytes;
    this.peakBytes = Math.max(this.peakBytes, this.liveBytes);
    return s;
  }

  /** An uninitialised tensor (NaN-filled when poisoning is on: for int32, 0x7fc00000); kernels write it. */
  empty(shape: Shape, producer: string, dtype: DType = 'float32'): Tensor {
    checkShape(shape, producer);
    checkDType(dtype, producer);
    const n = shapeSize(shape);
    const t = this.register(new Tensor(this, [...shape], this.newStorage(n * 4, producer), producer, 0, dtype));
    if (this.poison && n > 0) this.fillRaw(t, 0x7fc00000);
    return t;
  }

  /** A new tensor sharing `source`'s storage (reshape). */
  view(source: Tensor, shape: Shape, producer: string): Tensor {
    source.assertLive(producer);
    if (shapeSize(shape) !== source.size) throw new Error(`${producer}: a view of ${fmtShape(shape)} cannot alias ${fmtShape(source.shape)}`);
    source.storage.refs++;
    return this.register(new Tensor(this, [...shape], source.storage, producer, source.byteOffset, source.dtype));
  }

  /**
   * One allocation holding several tensors (parameter, gradient and optimizer-state arenas, so an optimizer
   * is one pass over the whole arena). Each part starts at a 256-byte-aligned offset; `whole` spans all of
   * it (including alignment gaps). Parts and whole share the storage; it is freed when all are disposed.
   */
  arena(shapes: readonly Shape[], producer = 'arena'): { whole: Tensor; parts: Tensor[] } {
    const align = Math.max(256, this.limits.minStorageBufferOffsetAlignment) / 4;
    const offsets: number[] = [];
    let total = 0;
    for (const s of shapes) {
      checkShape(s, producer);
      offsets.push(total);
      total += Math.ceil(shapeSize(s) / align) * align;
    }
    const storage = this.newStorage(Math.max(total, 1) * 4, producer);
    storage.refs = shapes.length + 1;
    const whole = this.register(new Tensor(this, [total], storage, producer));
    if (total > 0) this.runner.copyEncoder().clearBuffer(storage.buffer.buffer, 0, total * 4);
    const parts = shapes.map((s, i) => this.register(new Tensor(this, [...s], storage, producer, offsets[i]! * 4)));
    return { whole, parts };
  }

  /** A tensor aliasing `shape` elements of `source` from element `offset` (offset*4 must be 256-aligned). */
  window(source: Tensor, offset: number, shape: Shape, producer = 'window'): Tensor {
    source.assertLive(producer);
    const n = shapeSize(shape);
    const byteOffset = source.byteOffset + offset * 4;
    if (offset < 0 || offset + n > source.size) throw new Error(`${producer}: window [${offset}, ${offset + n}) is outside ${fmtShape(source.shape)}`);
    if (byteOffset % Math.max(256, this.limits.minStorageBufferOffsetAlignment) !== 0) throw new Error(`${producer}: window offset ${offset} is not 256-byte aligned`);
    source.storage.refs++;
    return this.register(new Tensor(this, [...shape], source.storage, producer, byteOffset, source.dtype));
  }

  releaseStorage(s: Storage): void {
    s.refs--;
    if (s.refs === 0 && s.external) {
      this.runner.forgetBuffer(s.buffer); // the application's buffer: only its cached bind groups go
      return;
    }
    if (s.refs === 0) {
      this.live.delete(s);
      this.liveBytes -= s.bytes;
      if (!this.destroyed) this.pool.release(s.buffer);
    }
  }

  private fillRaw(t: Tensor, bits: number): void {
    this.dispatch({ kernel: KERNELS.fill, params: { n: t.size, bits }, outputs: { y: t }, workgroups: Math.ceil(t.size / 256), label: 'fill' });
  }

  full(shape: Shape, value: number): Tensor {
    const t = this.empty(shape, 'full');
    const bits = new Uint32Array(new Float32Array([value]).buffer)[0]!;
    if (t.size > 0) this.fillRaw(t, bits);
    return t;
  }

  zeros(shape: Shape): Tensor {
    return this.full(shape, 0);
  }

  ones(shape: Shape): Tensor {
    return this.full(shape, 1);
  }

  /**
   * A tensor from CPU data (copied). float32 (the default; float64 input is rounded) or int32 (the default for an
   * Int32Array: labels, indices; every value must be an integer in the int32 range).
   */
  tensor(data: ArrayLike<number>, shape?: Shape, dtype: DType = data instanceof Int32Array ? 'int32' : 'float32'): Tensor {
    const s = shape ?? [data.length];
    checkShape(s, 'tensor');
    checkDType(dtype, 'tensor');
    const n = shapeSize(s);
    if (data.length !== n) throw new Error(`tensor: ${data.length} values do not fill shape ${fmtShape(s)} (${n} elements)`);
    const bytes = hostData(data, dtype, 'tensor');
    const t = this.register(new Tensor(this, [...s], this.newStorage(n * 4, 'tensor'), 'tensor', 0, dtype));
    if (n > 0) this.device.queue.writeBuffer(t.storage.buffer.buffer, 0, bytes.buffer, bytes.byteOffset, n * 4);
    return t;
  }

  /**
   * A tensor viewing `shape` float32 elements (row-major) of the application's own GPUBuffer from byte
   * `options.offset`, without a copy: ops read and write the buffer itself. The engine never frees, pools or
   * reuses it: disposing the tensor, or the engine, leaves it intact and usable. (An engine that created its
   * device destroys that device, with every buffer on it, on dispose(): create the engine on your own device
   * to keep your buffers beyond it.) The buffer needs usage STORAGE | COPY_SRC (COPY_DST to write() it) and
   * room for the elements rounded up to whole 16 bytes (kernels bind 16-byte units); it must stay unmapped and
   * undestroyed while the tensor lives. A buffer of another device is reported at the next dispatch or readback.
   * What to flush before your own passes touch it: docs/API.md, "Interop".
   */
  fromGPUBuffer(buffer: GPUBuffer, shape: Shape, options: FromGPUBufferOptions = {}): Tensor {
    const what = options.label === undefined ? 'fromGPUBuffer' : `fromGPUBuffer '${options.label}'`;
    if (this.destroyed) throw new Error(`${what}: the engine was disposed`);
    const b = buffer as Partial<GPUBuffer> | null | undefined;
    if (!b || typeof b.size !== 'number' || typeof b.usage !== 'number') {
      throw new Error(`${what}: expected a GPUBuffer (device.createBuffer(...)), got ${b === null ? 'null' : typeof b}`);
    }
    checkShape(shape, what);
    const dtype = options.dtype ?? 'float32';
    checkDType(dtype, what);
    const offset = options.offset ?? 0;
    const align = this.limits.minStorageBufferOffsetAlignment;
    if (!Number.isSafeInteger(offset) || offset < 0 || offset % align !== 0) {
      throw new Error(`${what}: offset ${offset} must be a non-negative multiple of the device's minStorageBufferOffsetAlignment (${align} bytes)`);
    }
    const missing = (['STORAGE', 'COPY_SRC'] as const).filter((flag) => (buffer.usage & BufferUsage[flag]) === 0);
    if (missing.length) {
      throw new Error(
        `${what}: the buffer's usage (0x${buffer.usage.toString(16)}) lacks ${missing.map((f) => `GPUBufferUsage.${f}`).join(' and ')}: ` +
          `kernels bind it as storage and read() copies from it. Create it with usage STORAGE | COPY_SRC (| COPY_DST to write() it).`,
      );
    }
    const bytes = shapeSize(shape) * 4;
    const span = bindingBytes(bytes);
    if (offset + span > buffer.size) {
      throw new Error(
        `${what}: ${fmtShape(shape)} needs ${span} bytes from offset ${offset} (${bytes} bytes of float32, rounded up to whole 16 bytes, ` +
          `which kernels bind), but the buffer has ${buffer.size} bytes`,
      );
    }
    if (span > this.limits.maxStorageBufferBindingSize) {
      throw new Error(`${what}: ${fmtShape(shape)} is ${span} bytes, over the device's maxStorageBufferBindingSize (${this.limits.maxStorageBufferBindingSize}): a tensor is one binding`);
    }
    if (buffer.mapState !== undefined && buffer.mapState !== 'unmapped') {
      throw new Error(`${what}: the buffer is ${buffer.mapState} (mappedAtCreation or mapAsync); unmap() it first`);
    }
    this.checkBufferDevice(buffer, offset, span, what);
    return this.register(new Tensor(this, [...shape], new Storage(this.pool.external(buffer), bytes, true), what, offset, dtype));
  }

  /**
   * WebGPU exposes no buffer's device, so fromGPUBuffer binds the buffer once in an error scope: a buffer of
   * another device (or one WebGPU rejects for any other reason) becomes an error thrown at the next dispatch or
   * readback. The scope is popped before anything else is recorded, so the engine's own errors are not caught.
   */
  private checkBufferDevice(buffer: GPUBuffer, offset: number, size: number, what: string): void {
    this.probeLayout ??= this.device.createBindGroupLayout({
      label: 'fromGPUBuffer check',
      entries: [{ binding: 0, visibility: ShaderStage.COMPUTE, buffer: { type: 'read-only-storage' } }],
    });
    this.device.pushErrorScope('validation');
    this.device.createBindGroup({ label: `${what} check`, layout: this.probeLayout, entries: [{ binding: 0, resource: { buffer, offset, size } }] });
    this.device.popErrorScope().then(
      (err) => {
        if (err) {
          this.runner.reportError(
            new Error(
              `${what}: WebGPU rejected the buffer: ${err.message}
` +
                `A buffer of another GPUDevice cannot be used: create it with engine.device, or the engine on your device (Engine.create({ device })).`,
            ),
          );
        }
      },
      () => {
        // the device was lost: the runner reports that
      },
    );
  }

  /**
   * Hands a tensor to the application's own WebGPU work: submits everything the engine has recorded (so the
   * values are written before anything the application submits next) and returns where the elements lie, a
   * GPUBufferBinding. Valid while the tensor lives: after it is disposed, the engine reuses the memory from its
   * next submit on, so submit the work that uses it before disposing the tensor. docs/API.md, "Interop".
   */
  gpuBufferBinding(t: Tensor): TensorGPUBinding {
    t.assertLive('gpuBufferBinding');
    this.runner.flush();
    return { buffer: t.gpuBuffer.buffer, offset: t.byteOffset, size: t.byteLength };
  }

  /** Overwrite a tensor's contents from the CPU. Pending work is submitted first so it sees the old values. */
  write(t: Tensor, data: ArrayLike<number>): void {
    t.assertLive('write');
    if (data.length !== t.size) throw new Error(`write: ${data.length} values for a tensor of shape ${fmtShape(t.shape)}`);
    if (t.storage.external && (t.gpuBuffer.buffer.usage & BufferUsage.COPY_DST) === 0) {
      throw new Error(`write: tensor ${fmtShape(t.shape)} (from ${t.producer}) views a GPUBuffer without GPUBufferUsage.COPY_DST; create the buffer with COPY_DST to write() it`);
    }
    const bytes = hostData(data, t.dtype, 'write');
    this.writes++;
    this.runner.flush();
    this.device.queue.writeBuffer(t.storage.buffer.buffer, t.byteOffset, bytes.buffer, bytes.byteOffset, t.size * 4);
  }

  private nextRandom(opts: RandomOptions): { key0: number; key1: number; stream: number; stream_hi: number; offset: number } {
    let seed: number;
    let stream: number;
    if (opts.seed !== undefined) {
      seed = opts.seed;
      stream = opts.stream ?? 0;
    } else {
      seed = this.rng.seed;
      stream = opts.stream ?? this.rng.stream++;
    }
    if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`random: seed must be a non-negative safe integer, got ${seed}`);
    return { key0: seed % 0x100000000, key1: Math.floor(seed / 0x100000000), ...streamWords(stream, 'random'), offset: counterOffset(opts.offset ?? 0, 'random') };
  }

  /** Uniform in (lo, hi) from the counter-based Philox RNG. */
  uniform(shape: Shape, lo = 0, hi = 1, opts: RandomOptions = {}): Tensor {
    return this.philox(shape, false, lo, hi, opts);
  }

  /** Normal(mean, std^2) from the counter-based Philox RNG (Box-Muller). */
  normal(shape: Shape, mean = 0, std = 1, opts: RandomOptions = {}): Tensor {
    return this.philox(shape, true, mean, std, opts);
  }

  /** A tensor drawn by shaders/philox.wgsl: uniform in (a, b), or (normal) Normal(a, b^2). */
  private philox(shape: Shape, normal: boolean, a: number, b: number, opts: RandomOptions): Tensor {
    const t = this.empty(shape, normal ? 'normal' : 'uniform');
    const r = this.nextRandom(opts);
    if (t.size > 0) {
      this.dispatch({ kernel: KERNELS.philox, overrides: { NORMAL: normal }, params: { n: t.size, ...r, a, b }, outputs: { y: t }, workgroups: Math.ceil(t.size / 256) });
    }
    return t;
  }

  async readTensor(t: Tensor): Promise<Float32Array> {
    const bytes = t.size * 4;
    if (bytes === 0) return new Float32Array(0);
    const staging = this.device.createBuffer({ size: Math.ceil(bytes / 4) * 4, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST, label: 'readback' });
    this.runner.copyEncoder().copyBufferToBuffer(t.storage.buffer.buffer, t.byteOffset, staging, 0, bytes);
    this.runner.flush();
    try {
      await staging.mapAsync(MapMode.READ);
    } catch (err) {
      this.runner.checkErrors();
      throw err;
    }
    const out = new Float32Array(staging.getMappedRange().slice(0));
    staging.unmap();
    staging.destroy();
    this.runner.checkErrors();
    return out;
  }

  /** Number of write() calls so far (what was derived from written tensors may be stale when it changes). */
  get writeCount(): number {
    return this.writes;
  }

  // ---- dispatch ------------------------------------------------------------------------------------------

  dispatch(d: TensorDispatch): void {
    this.runner.dispatch(d);
  }

  /** Submit all recorded work now. */
  flush(): void {
    this.runner.flush();
  }

  /** Submit and wait for the GPU to finish. */
  sync(): Promise<void> {
    return this.runner.sync();
  }

  /**
   * Create ahead of use, asynchronously and all at once, the pipelines `record` needs (Runner.preparePipelines):
   * `record` runs as a dry run (ops allocate and are noted, nothing runs on the GPU; its tensors are freed and
   * the RNG state restored after it). It must not read back. For start-up: e.g. one training step's forward
   * and backward before the first real one.
   */
  preparePipelines(record: () => void): Promise<{ created: number; ms: number }> {
    const rng = { ...this.rng };
    return this.runner.preparePipelines(() => {
      try {
        this.scope(() => {
          record();
        });
      } finally {
        this.rng = rng;
      }
    });
  }

  timings(reset = true): Promise<KernelTiming[]> {
    return this.runner.timings(reset);
  }

  // ---- scopes and autodiff -------------------------------------------------------------------------------

  /**
   * Run fn; every tensor created inside and not returned (directly, or in an array/object) and not keep()-ed
   * is disposed when it returns. Returned tensors move to the enclosing scope.
   */
  scope<T>(fn: () => T): T {
    const mine: Tracked = new Set();
    this.scopes.push(mine);
    let result: T;
    try {
      result = fn();
    } catch (e) {
      this.scopes.pop();
      for (const t of mine) t.dispose('freed by scope() after an error');
      throw e;
    }
    this.scopes.pop();
    this.closeScope(mine, result);
    return result;
  }

  /** scope() for async functions. Do not interleave two asyncScopes on one engine. */
  async asyncScope<T>(fn: () => Promise<T>): Promise<T> {
    const mine: Tracked = new Set();
    this.scopes.push(mine);
    let result: T;
    try {
      result = await fn();
    } catch (e) {
      this.scopes.splice(this.scopes.indexOf(mine), 1);
      for (const t of mine) t.dispose('freed by scope() after an error');
      throw e;
    }
    this.scopes.splice(this.scopes.indexOf(mine), 1);
    this.closeScope(mine, result);
    return result;
  }

  private closeScope(mine: Tracked, result: unknown): void {
    const returned = new Set<Tensor>();
    const collect = (v: unknown, depth: number): void => {
      if (v instanceof Tensor) returned.add(v);
      else if (depth < 3 && Array.isArray(v)) for (const x of v) collect(x, depth + 1);
      else if (depth < 3 && v && typeof v === 'object') for (const x of Object.values(v)) collect(x, depth + 1);
    };
    collect(result, 0);
    const parent = this.scopes[this.scopes.length - 1];
    for (const t of mine) {
      if (returned.has(t)) parent?.add(t);
      else t.dispose('freed at the end of its scope()');
    }
  }

  /** The innermost open scope (an opaque token for inScope), or null outside any scope. */
  currentScope(): object | null {
    return this.scopes[this.scopes.length - 1] ?? null;
  }

  /**
   * Run fn so that the tensors it creates belong to the scope `token` (from currentScope()), as if created
   * where the token was taken; with null they belong to no scope (the caller disposes them).
   */
  inScope<T>(token: object | null, fn: () => T): T {
    const target = (token as Tracked | null) ?? new Set<Tensor>();
    this.scopes.push(target);
    try {
      return fn();
    } finally {
      this.scopes.splice(this.scopes.lastIndexOf(target), 1);
    }
  }

  untrack(t: Tensor): void {
    for (const s of this.scopes) s.delete(t);
  }

  /** Run fn without recording ops on the tape. */
  noGrad<T>(fn: () => T): T {
    return this.tape.noGrad(fn);
  }

  /** Backpropagate from `loss` (see tape.ts for the gradient convention). */
  backward(loss: Tensor, gradOutput?: Tensor): void {
    this.tape.backward(loss, gradOutput);
  }

  // ---- bookkeeping ---------------------------------------------------------------------------------------

  memory(): MemoryStats {
    return { liveTensors: this.live.size, liveBytes: this.liveBytes, peakBytes: this.peakBytes, poolAllocatedBytes: this.pool.allocatedBytes };
  }

  resetPeak(): void {
    this.peakBytes = this.liveBytes;
  }

  /** Release GPU memory held by the pool but not used by any tensor. */
  trimPool(): number {
    this.runner.flush();
    return this.pool.trim((pb) => this.runner.forgetBuffer(pb));
  }

  /** Destroy the device if the engine created it. */
  dispose(): void {
    if (this.destroyed) return;
    try {
      this.runner.flush();
    } catch {
      // already failing; still release the device
    }
    this.destroyed = true;
    this.runner.destroy();
    if (this.ownsDevice) this.device.destroy();
  }
}

