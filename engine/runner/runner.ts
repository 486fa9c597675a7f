// The kernel runner: every GPU dispatch of the engine goes through `dispatch()`.
// - Pipelines are cached by (shader, override constants) and bindings checked against the shader by
//   reflection (runner/shaders.ts); parameters go into one uniform arena (runner/uniforms.ts); bind groups are
//   cached (runner/bind_groups.ts); optional GPU timing per kernel (runner/timing.ts).
// - All dispatches are recorded into one command encoder / compute pass and submitted at a readback or an
//   explicit flush (docs/ENGINE.md §2: ~5 us of CPU per dispatch instead of ~100).
// - preparePipelines(): a dry run that only notes the specialisations a piece of work needs, then creates
//   them all at once asynchronously (no first-step stall).
// - Asynchronous GPU errors (validation, out-of-memory, device loss) are kept and thrown at the next call,
//   naming the kernel they belong to.
import type { KernelSource } from '../kernels.js';
import type { BufferPool, PooledBuffer } from '../pool.js';
import { BindGroupCache } from './bind_groups.js';
import { PipelineCache, pipelineKey, type PipelineEntry } from './shaders.js';
import { GpuTimer } from './timing.js';
import type { DispatchArgs, KernelTiming, OverrideValue } from './types.js';
import { UniformArena } from './uniforms.js';

export { bindingBytes, type Binding, type DispatchArgs, type KernelDispatch, type KernelTiming, type OverrideValue, type ParamValue } from './types.js';


const MAX_WORKGROUPS_PER_DIM = 65535;
const NONE: Record<string, never> = Object.freeze({}) as Record<string, never>;

type Specialisation = { kernel: KernelSource; overrides: Record<string, OverrideValue> | undefined };

export class Runner {
  private readonly pipelines: PipelineCache;
  private readonly uniforms: UniformArena;
  private readonly bindGroups: BindGroupCache;
  private readonly timer: GpuTimer | null;

  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private currentPipeline: GPUComputePipeline | null = null;
  private readonly dynamicOffset = new Uint32Array(1);
  private readonly wg: [number, number, number] = [0, 0, 0];
  private pendingError: Error | null = null;
  private lostError: Error | null = null;
  private lastEntry: PipelineEntry | null = null;
  private lastLabel: string | undefined = undefined;
  /** During preparePipelines' dry run: the specialisations dispatches asked for that are not compiled yet. */
  private collecting: Map<string, Specialisation> | null = null;
  /** The dry run's copy commands go here and are never submitted. */
  private dryEncoder: GPUCommandEncoder | null = null;
  private dryRunError: Error | null = null;

  /** Dispatches recorded since the engine started (for benchmarks). */
  dispatchCount = 0;
  /**
   * Debug hook (tests): called for every dispatch recorded, with the kernel's name and the dispatch's label
   * (ops that choose among kernel variants name the variant there, e.g. `matmul:tiled`,
   * `conv2d.wgrad:direct64:split2`), so a test can see which variant and split the engine actually ran.
   */
  onDispatch: ((kernel: string, label: string | undefined) => void) | null = null;
  submitCount = 0;

  constructor(
    readonly device: GPUDevice,
    private readonly pool: BufferPool,
    timing: boolean,
  ) {
    this.pipelines = new PipelineCache(device, (e) => {
      this.pendingError ??= e;
    });
    this.uniforms = new UniformArena(device);
    this.bindGroups = new BindGroupCache(device, this.uniforms.buffer);
    this.timer = timing && device.features.has('timestamp-query') ? new GpuTimer(device) : null;
    device.addEventListener('uncapturederror', (ev) => {
      const e = (ev as GPUUncapturedErrorEvent).error;
      this.pendingError ??= new Error(`WebGPU error (${this.errorContext(e.message)}): ${this.pipelines.fileLines(e.message)}`);
    });
    void device.lost.then((info) => {
      if (info.reason === 'destroyed') {
        this.lostError = new Error('The GPU device was destroyed (engine disposed).');
      } else {
        this.lostError = new Error(`The GPU device was lost while running kernel '${this.lastKernel}': ${info.message}`);
      }
    });
  }

  get timingEnabled(): boolean {
    return this.timer !== null;
  }

  /** The last kernel recorded, for error messages. */
  private get lastKernel(): string {
    if (!this.lastEntry) return '(none)';
    return this.lastLabel ? `${this.lastEntry.label} (${this.lastLabel})` : this.lastEntry.label;
  }

  /**
   * Which kernel an uncaptured error belongs to. Errors while creating a kernel's shader, layouts or pipeline
   * belong to that kernel, not to the last one dispatched: Dawn reports them during the create call
   * (`creating`); browsers report them later, so the object labels in the message (our kernel names) are used too.
   */
  private errorContext(message: string): string {
    if (this.pipelines.creating) return `while creating kernel '${this.pipelines.creating}'`;
    for (const m of message.matchAll(/"+([\w|=,.-]+)"+/g)) {
      const label = m[1]!;
      if (this.pipelines.knows(label)) return `kernel '${label}'; last kernel dispatched: '${this.lastKernel}'`;
    }
    return `last kernel dispatched: '${this.lastKernel}'`;
  }

  /** An error found asynchronously outside a dispatch (Engine.fromGPUBuffer's device check): thrown like a GPU error. */
  reportError(err: Error): void {
    this.pendingError ??= err;
  }

  /** Throw a stored asynchronous GPU error (validation, out-of-memory, device loss). */
  checkErrors(): void {
    if (this.lostError) throw this.lostError;
    if (this.pendingError) {
      const e = this.pendingError;
      this.pendingError = null;
      throw e;
    }
  }

  /**
   * Compile, with createComputePipelineAsync and all at once, the pipelines that `record` would create: it runs
   * as a dry run in which dispatches are only noted (nothing is recorded, bound or submitted; copy commands go
   * to an encoder that is dropped), then the missing pipelines are created asynchronously and cached. `record`
   * must not read back or flush (it throws if it does) and must not depend on GPU results; tensors it makes are
   * the caller's to free. Returns how many pipelines were created and the wall time of creating them.
   */
  async preparePipelines(record: () => void): Promise<{ created: number; ms: number }> {
    this.flush();
    const wanted = new Map<string, Specialisation>();
    this.collecting = wanted;
    this.dryRunError = null;
    try {
      record();
    } finally {
      this.collecting = null;
      this.dryEncoder = null;
      // Buffers freed during the dry run were used by no submitted command: reusable at once.
      this.pool.onSubmitted();
    }
    if (this.dryRunError) {
      const err = this.dryRunError;
      this.dryRunError = null;
      throw err;
    }
    const t0 = performance.now();
    const created = await this.pipelines.createAsync(wanted);
    this.checkErrors();
    return { created, ms: performance.now() - t0 };
  }

  /** Forget bind groups that reference a buffer about to be destroyed. */
  forgetBuffer(pb: PooledBuffer): void {
    this.bindGroups.forgetBuffer(pb);
  }

  dispatch(args: DispatchArgs): void {
    this.checkErrors();
    const { kernel } = args;
    if (this.collecting) {
      const key = pipelineKey(kernel, args.overrides);
      if (!this.pipelines.has(key) && !this.collecting.has(key)) this.collecting.set(key, { kernel, overrides: args.overrides });
      this.pool.onSubmitted(); // nothing is recorded: buffers freed so far may serve the dry run's next tensors
      return;
    }
    const entry = this.pipelines.pipelineFor(kernel, args.overrides);
    const info = entry.shader.uniform;
    if (!info && args.params && Object.keys(args.params).length) throw new Error(`kernel '${kernel.name}' has no uniform block but parameters were given`);
    // Labels are formatted only when needed (timing, errors): string building is a per-dispatch cost.
    const bindGroup = this.bindGroups.get(entry, kernel, args.label ?? kernel.name, args.inputs ?? NONE, args.outputs ?? NONE);
    const wg = this.foldWorkgroups(args.workgroups, kernel.name);
    if (wg[0] === 0 || wg[1] === 0 || wg[2] === 0) return;
    if (info && !this.uniforms.fits(info)) this.flush();
    const offset = info ? this.uniforms.pack(kernel, info, args.params) : -1;
    this.lastEntry = entry;
    this.lastLabel = args.label;
    this.encoder ??= this.device.createCommandEncoder();
    let pass: GPUComputePassEncoder;
    if (this.timer) {
      this.endPass();
      if (this.timer.full) {
        this.flush();
        this.encoder = this.device.createCommandEncoder();
      }
      pass = this.encoder.beginComputePass({ timestampWrites: this.timer.nextPass(args.label ? `${kernel.name}:${args.label}` : entry.label) });
    } else {
      if (!this.pass) {
        this.pass = this.encoder.beginComputePass();
        this.currentPipeline = null;
      }
      pass = this.pass;
    }
    if (this.currentPipeline !== entry.pipeline || this.timer) {
      pass.setPipeline(entry.pipeline);
      this.currentPipeline = entry.pipeline;
    }
    if (offset >= 0) {
      this.dynamicOffset[0] = offset;
      pass.setBindGroup(0, bindGroup, this.dynamicOffset, 0, 1);
    } else pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(wg[0], wg[1], wg[2]);
    if (this.timer) pass.end();
    this.dispatchCount++;
    this.onDispatch?.(kernel.name, args.label);
  }

  private foldWorkgroups(w: [number, number, number] | number, name: string): [number, number, number] {
    if (typeof w !== 'number') {
      if (w.some((x) => x > MAX_WORKGROUPS_PER_DIM)) throw new Error(`kernel '${name}': workgroup count ${w.join('x')} exceeds ${MAX_WORKGROUPS_PER_DIM} per dimension`);
      return w;
    }
    const out = this.wg;
    if (w <= MAX_WORKGROUPS_PER_DIM) {
      out[0] = w;
      out[1] = 1;
    } else {
      const y = Math.ceil(w / MAX_WORKGROUPS_PER_DIM);
      if (y > MAX_WORKGROUPS_PER_DIM) throw new Error(`kernel '${name}': ${w} workgroups is too many for one dispatch`);
      out[0] = Math.ceil(w / y);
      out[1] = y;
    }
    out[2] = 1;
    return out;
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  /** An encoder with no open compute pass, for copies; recorded in order with the dispatches. */
  copyEncoder(): GPUCommandEncoder {
    this.checkErrors();
    if (this.collecting) return (this.dryEncoder ??= this.device.createCommandEncoder({ label: 'preparePipelines dry run (never submitted)' }));
    this.endPass();
    this.encoder ??= this.device.createCommandEncoder();
    return this.encoder;
  }

  /** Submit everything recorded so far. */
  flush(): void {
    this.checkErrors();
    if (this.collecting) {
      // Also kept for preparePipelines to throw: an async readback turns this throw into a rejection.
      this.dryRunError ??= new Error('Runner.preparePipelines: the dry run read back or flushed (it may only record work)');
      throw this.dryRunError;
    }
    this.endPass();
    if (!this.encoder && !this.uniforms.pending) return;
    const encoder = this.encoder ?? this.device.createCommandEncoder();
    this.encoder = null;
    const startTimingRead = this.timer?.resolve(encoder) ?? null;
    this.uniforms.upload();
    this.device.queue.submit([encoder.finish()]);
    this.submitCount++;
    this.pool.onSubmitted();
    startTimingRead?.();
  }

  /** Per-kernel GPU time since the last reset (timing must be enabled). */
  async timings(reset = true): Promise<KernelTiming[]> {
    this.flush();
    return this.timer ? this.timer.timings(reset) : [];
  }

  /** Submit and wait until the GPU has finished all submitted work. */
  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    this.checkErrors();
  }

  destroy(): void {
    this.uniforms.destroy();
    this.timer?.destroy();
  }
}
