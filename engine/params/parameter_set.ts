// A model's parameters and everything a training step keeps per parameter, in arenas (Engine.arena) that share
// one layout (params/layout.ts): the parameters, their gradients, and named state arenas made on first use (the
// Polyak EMA, the optimizers' moments). Every per-parameter pass (an optimizer step, the EMA update and swap,
// zeroing, the health checks) is then one dispatch per arena chunk, whatever the number of parameters.
// The passes live beside this file, one job each: optimizers.ts (SGD, Adam, AdamW, Adamax), schedules.ts
// (learning rates), ema.ts, health.ts (norms, clipping, finiteness), checkpoint.ts (packing for checkpoints),
// weight_norm.ts (the effective weights of every weight-normed layer); ParameterSet holds the arenas, the state
// flags and the optimizers' step counts, and its methods call them.
import { clearTensor } from '../buffer_copy.js';
import type { Engine } from '../engine.js';
import { KERNELS, streamWords } from '../kernels.js';
import { type Tensor, fmtShape, shapeSize } from '../tensor.js';
import { adamaxPass, adamPass, sgdPass, OPTIMIZER_STATE, type AdamaxOptions, type AdamOptions, type OptimizerKind, type SgdOptions } from './optimizers.js';
import { loadCheckpoint, serializeSet, type ParameterCheckpoint } from './checkpoint.js';
import { emaSwapPass, emaUpdatePass, initEmaArena } from './ema.js';
import { clipFactorPass, gradientStats, recordNonFiniteCheck, type FinitenessReport, type GradientStats } from './health.js';
import type { LayoutArena, ParameterArenas } from './arenas.js';
import { ArenaLayout, type Chunk } from './layout.js';

export type ParamInit = 'zeros' | 'ones' | { normal: number } | { uniform: number } | Float32Array;

export interface ParamSpec {
  name: string;
  shape: number[];
  /**
   * zeros, ones, N(0, std^2) or U(-limit, limit) from Philox (seed, stream = index of the spec), or explicit
   * values. Named initialisers (He, Glorot: layers/init.ts) give one of these.
   */
  init: ParamInit;
}

export interface ParameterSetOptions {
  /** Largest number of elements one dispatch covers (rounded down to the 256-byte alignment). Default: what
   * maxStorageBufferBindingSize allows. Tests force small chunks with it. */
  maxChunkElements?: number;
}

export class ParameterSet implements ParameterArenas {
  /** Parameters by name (views into the parameter arena; requiresGrad, keep()-ed, .grad in the gradient arena). */
  readonly params = new Map<string, Tensor>();
  readonly layout: ArenaLayout;
  /** The parameter and gradient arenas as chunk windows (for the passes in params/*.ts). */
  readonly paramWindows: Tensor[];
  readonly gradWindows: Tensor[];
  private readonly states = new Map<string, LayoutArena>();
  private emaReady = false;
  private swapped = false;
  private disposed = false;
  private mutations = 0;
  private zeroedAt: string | null = null;
  private disposers: (() => void)[] = [];
  /** Steps each optimizer took (its counter's name: 'adam', 'sgd', 'adamax'). */
  private steps = new Map<string, number>();
  private lastOptimizer: OptimizerKind | null = null;
  /** [factor, norm, 0, 0] of the last step's gradient clipping (clipNorm), or null. */
  private lastClip: Tensor | null = null;

  private constructor(
    readonly engine: Engine,
    specs: readonly ParamSpec[],
    /** The parameter arena (whole). */
    readonly paramArena: Tensor,
    /** The gradient arena (whole). */
    readonly gradArena: Tensor,
    parts: Tensor[],
    options: ParameterSetOptions,
  ) {
    const align = Math.max(256, engine.limits.minStorageBufferOffsetAlignment) / 4;
    const limit = Math.floor(engine.limits.maxStorageBufferBindingSize / 4);
    let chunk = Math.min(limit, options.maxChunkElements ?? limit);
    chunk = Math.floor(chunk / align) * align;
    if (chunk <= 0) throw new Error(`ParameterSet: maxChunkElements ${options.maxChunkElements} is below the ${align}-element alignment`);
    this.layout = new ArenaLayout(
      specs.map((s) => s.name),
      specs.map((s) => [...s.shape]),
      parts.map((p) => (p.byteOffset - paramArena.byteOffset) / 4),
      paramArena.size,
      chunk,
    );
    this.paramWindows = this.windowsOf(paramArena, 'params.chunk');
    this.gradWindows = this.windowsOf(gradArena, 'grads.chunk');
  }

  /**
   * Allocate the parameter and gradient arenas and initialise the parameters. `seed` keys the Philox draws of
   * `{ normal: std }` parameters (stream = the spec's index, so a parameter's values do not depend on the others).
   */
  static create(engine: Engine, specs: readonly ParamSpec[], seed: number, options: ParameterSetOptions = {}): ParameterSet {
    const names = new Set<string>();
    for (const s of specs) {
      if (names.has(s.name)) throw new Error(`ParameterSet: duplicate parameter name '${s.name}'`);
      names.add(s.name);
      const n = shapeSize(s.shape);
      if (s.init instanceof Float32Array && s.init.length !== n) throw new Error(`ParameterSet: '${s.name}' ${fmtShape(s.shape)} needs ${n} initial values, got ${s.init.length}`);
      if (typeof s.init === 'object' && 'normal' in s.init && !(s.init.normal >= 0)) throw new Error(`ParameterSet: '${s.name}': normal std must be >= 0, got ${s.init.normal}`);
      if (typeof s.init === 'object' && 'uniform' in s.init && !(s.init.uniform >= 0)) throw new Error(`ParameterSet: '${s.name}': uniform limit must be >= 0, got ${s.init.uniform}`);
      if (n * 4 > engine.limits.maxStorageBufferBindingSize && s.init !== 'zeros') throw new Error(`ParameterSet: '${s.name}' ${fmtShape(s.shape)} is larger than one binding; only 'zeros' init is supported for it`);
    }
    if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`ParameterSet: seed must be a non-negative safe integer, got ${seed}`);
    const shapes = specs.map((s) => s.shape);
    const pa = engine.arena(shapes, 'params');
    const ga = engine.arena(shapes, 'grads');
    pa.whole.keep();
    ga.whole.keep();
    const set = new ParameterSet(engine, specs, pa.whole, ga.whole, pa.parts, options);
    specs.forEach((spec, i) => {
      const p = pa.parts[i]!.keep();
      p.requiresGrad = true;
      p.grad = ga.parts[i]!.keep();
      set.params.set(spec.name, p);
      set.initParam(p, spec, seed, i);
    });
    return set;
  }

  private initParam(p: Tensor, spec: ParamSpec, seed: number, index: number): void {
    const e = this.engine;
    const init = spec.init;
    const n = p.size;
    if (n === 0 || init === 'zeros') return; // the arena starts zeroed
    if (init === 'ones') {
      const bits = new Uint32Array(new Float32Array([1]).buffer)[0]!;
      e.dispatch({ kernel: KERNELS.fill, params: { n, bits }, outputs: { y: p }, workgroups: Math.ceil(n / 256), label: `init ${spec.name}` });
    } else if (init instanceof Float32Array) {
      e.write(p, init);
    } else {
      const normal = 'normal' in init;
      e.dispatch({
        kernel: KERNELS.philox,
        overrides: { NORMAL: normal },
        params: { n, ...streamWords(index, `init ${spec.name}`), key0: seed % 0x100000000, key1: Math.floor(seed / 0x100000000), a: normal ? 0 : -init.uniform, b: normal ? init.normal : init.uniform, offset: 0 },
        outputs: { y: p },
        workgroups: Math.ceil(n / 256),
        label: `init ${spec.name}`,
      });
    }
  }

  private windowsOf(whole: Tensor, label: string): Tensor[] {
    return this.layout.chunks.map((c) => this.engine.window(whole, c.offset, [c.size], label).keep());
  }

  /** A state arena by name ('ema', 'adamax.v', ...): made zeroed on first use, with the parameter arena's layout. */
  stateArena(name: string): LayoutArena {
    let a = this.states.get(name);
    if (!a) {
      const arena = this.engine.arena([[this.layout.arenaSize]], name);
      arena.parts[0]!.dispose('a state arena keeps the whole');
      const whole = arena.whole.keep();
      a = { whole, windows: this.windowsOf(whole, `${name}.chunk`) };
      this.states.set(name, a);
    }
    return a;
  }

  /** A state arena if it was made, else null. */
  existingStateArena(name: string): LayoutArena | null {
    return this.states.get(name) ?? null;
  }

  /** Throws when the set was disposed, or (unless allowed) while the EMA weights are swapped in. */
  assertUsable(what: string, allowSwapped = false): void {
    if (this.disposed) throw new Error(`ParameterSet.${what}: the parameter set was disposed`);
    if (this.swapped && !allowSwapped) throw new Error(`ParameterSet.${what}: the EMA weights are swapped in; call swapBack() first`);
  }

  get(name: string): Tensor {
    const p = this.params.get(name);
    if (!p) throw new Error(`ParameterSet: no parameter '${name}' (have ${this.names.slice(0, 20).join(', ')}${this.names.length > 20 ? ', ...' : ''})`);
    return p;
  }

  get names(): string[] {
    return this.layout.names;
  }

  get shapes(): number[][] {
    return this.layout.shapes;
  }

  /** Number of scalars (without alignment gaps). */
  get count(): number {
    return this.layout.count;
  }

  /** Elements per arena, gaps included. */
  get arenaSize(): number {
    return this.layout.arenaSize;
  }

  get chunkElements(): number {
    return this.layout.chunkElements;
  }

  /** Element offset of a parameter in the arenas (every arena has the parameter arena's layout). */
  offsetOf(name: string): number {
    const i = this.names.indexOf(name);
    if (i < 0) throw new Error(`ParameterSet: no parameter '${name}'`);
    return this.layout.offsets[i]!;
  }

  /** The ranges [offset, offset + size) of the arenas that one dispatch binds (see maxChunkElements). */
  get chunkRanges(): readonly Chunk[] {
    return this.layout.chunks;
  }

  /** Number of dispatches one arena pass takes. */
  get chunkCount(): number {
    return this.layout.chunks.length;
  }

  /**
   * Changes whenever the parameter values may have changed through this set (optimizer steps, EMA swaps) or
   * through Engine.write (loads, tests): what was computed from the parameters before is stale when it differs.
   */
  get version(): string {
    return `${this.mutations}:${this.engine.writeCount}`;
  }

  /** Run fn when the set is disposed (objects built on its layout, e.g. WeightNorm). */
  onDispose(fn: () => void): void {
    this.disposers.push(fn);
  }

  /** true once dispose() ran. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  get hasEma(): boolean {
    return this.emaReady;
  }

  /** Zero the whole gradient arena (one clearBuffer command). */
  zeroGrad(): void {
    this.assertUsable('zeroGrad', true);
    clearTensor(this.engine, this.gradArena);
    this.zeroedAt = this.gradEpoch();
  }

  /**
   * true while the gradient arena still holds the zeros of the last zeroGrad(): no backward() ran and nothing
   * was written with Engine.write since (WeightNorm then lets the weight gradients land in the V slots).
   */
  get gradsAreZero(): boolean {
    return this.zeroedAt === this.gradEpoch();
  }

  private gradEpoch(): string {
    return `${this.engine.tape.generation}:${this.engine.writeCount}`;
  }

  /** One Adamax step over all parameters (TF form by default; params/optimizers.ts; v and u made zeroed on first use). */
  adamaxStep(opts: AdamaxOptions = {}): void {
    this.optimizerStep('adamaxStep', 'adamax', opts.clipNorm, (step, clip) => adamaxPass(this, opts, step, clip));
  }

  /** One SGD step (momentum, dampening, Nesterov, weight decay, clipNorm; PyTorch's rule; lr default 0.01). */
  sgdStep(opts: SgdOptions = {}): void {
    this.optimizerStep('sgdStep', 'sgd', opts.clipNorm, (step, clip) => sgdPass(this, opts, step, clip));
  }

  /** One Adam step (bias-corrected; L2 weight decay; lr default 0.001, betas 0.9 / 0.999, eps 1e-8). */
  adamStep(opts: AdamOptions = {}): void {
    this.optimizerStep('adamStep', 'adam', opts.clipNorm, (step, clip) => adamPass(this, opts, step, clip, false));
  }

  /** One AdamW step: Adam with decoupled weight decay p <- p (1 - lr wd) (default wd 0.01). Shares Adam's state and step count. */
  adamwStep(opts: AdamOptions = {}): void {
    this.optimizerStep('adamwStep', 'adam', opts.clipNorm, (step, clip) => adamPass(this, opts, step, clip, true));
  }

  /** Steps an optimizer has taken on this set ('adam' counts Adam and AdamW steps); restored by load(). */
  optimizerSteps(kind: OptimizerKind): number {
    return this.steps.get(OPTIMIZER_STATE[kind].counter) ?? 0;
  }

  /**
   * The global gradient norm of the last step that clipped (clipNorm) and the factor it scaled the gradient by
   * (1 when the norm was within the bound; NaN both when a gradient element was not finite), or null.
   */
  async lastClipping(): Promise<{ norm: number; factor: number } | null> {
    if (!this.lastClip) return null;
    const [factor, norm] = await this.lastClip.read();
    return { norm: norm!, factor: factor! };
  }

  private optimizerStep(what: string, kind: OptimizerKind, clipNorm: number | undefined, pass: (step: number, clip: Tensor | null) => void): void {
    this.assertUsable(what);
    const counter = OPTIMIZER_STATE[kind].counter;
    const step = this.steps.get(counter) ?? 0;
    const clip = clipNorm === undefined ? null : this.engine.noGrad(() => clipFactorPass(this, clipNorm)).keep();
    try {
      pass(step, clip);
    } catch (err) {
      clip?.dispose();
      throw err;
    }
    this.lastClip?.dispose();
    this.lastClip = clip;
    this.mutations++;
    this.steps.set(counter, step + 1);
    this.lastOptimizer = kind;
  }

  /** Copy the parameters into the EMA arena (after data-dependent init: the average starts from the initialised weights). */
  initEma(): void {
    this.assertUsable('initEma');
    initEmaArena(this);
    this.emaReady = true;
  }

  /**
   * ema <- decay * ema + (1 - decay) * p, one pass. initEma() first. `decay` may be a function of the
   * parameter's name (e.g. one decay per sub-model): consecutive parameters with the same decay form one
   * range of the arena, so the pass takes one dispatch per range (and per chunk).
   */
  emaUpdate(decay: number | ((name: string) => number)): void {
    this.assertUsable('emaUpdate');
    if (!this.emaReady) throw new Error('ParameterSet.emaUpdate: call initEma() first (after data-dependent init)');
    emaUpdatePass(this, decay);
  }

  /** Exchange parameters and EMA in place: the parameter tensors now hold the averaged weights. */
  swapToEma(): void {
    this.assertUsable('swapToEma');
    if (!this.emaReady) throw new Error('ParameterSet.swapToEma: no EMA yet (call initEma())');
    emaSwapPass(this);
    this.mutations++;
    this.swapped = true;
  }

  /** Undo swapToEma(). */
  swapBack(): void {
    if (this.disposed) throw new Error('ParameterSet.swapBack: the parameter set was disposed');
    if (!this.swapped) throw new Error('ParameterSet.swapBack: the EMA weights are not swapped in');
    emaSwapPass(this);
    this.mutations++;
    this.swapped = false;
  }

  /** Run fn with the EMA weights in the parameter tensors; swaps back afterwards (also after a rejection). */
  withEma<T>(fn: () => T): T {
    this.swapToEma();
    let result: T;
    try {
      result = fn();
    } catch (err) {
      this.swapBack();
      throw err;
    }
    if (result instanceof Promise) return result.finally(() => this.swapBack()) as T;
    this.swapBack();
    return result;
  }

  /** L2 norm and NaN/Inf check of the whole gradient arena (params/health.ts). */
  async gradientStats(): Promise<GradientStats> {
    this.assertUsable('gradientStats', true);
    return gradientStats(this);
  }

  /**
   * NaN/Inf check of the whole training state (parameters, EMA, and the two state arenas of the optimizer that
   * stepped last, Adamax's v and u when none has; those that exist): one fused reduction into four u32 flags,
   * then one 16-byte readback. Names the first bad element of each arena.
   */
  async nonFiniteCheck(): Promise<FinitenessReport> {
    const check = this.recordNonFiniteCheck();
    try {
      const r = await check.flags.read();
      return check.report(new Uint32Array(r.buffer, r.byteOffset, 4));
    } finally {
      check.flags.dispose();
    }
  }

  /**
   * nonFiniteCheck() without the readback, for a pipelined loop: records the fused check into `flags` (4
   * elements, the caller owns and disposes it; read its bits back with any other values of the step) and returns
   * `report(bits)`, which decodes those 4 u32 flags into the report of the state as it was when recorded.
   */
  recordNonFiniteCheck(): { flags: Tensor; report(bits: Uint32Array): FinitenessReport } {
    this.assertUsable('nonFiniteCheck');
    return recordNonFiniteCheck(this, this.emaReady, this.lastOptimizer);
  }

  /** Read back the whole arenas (parameters, and EMA / optimizer state where they exist) packed, and the optimizers' step counts. */
  async serialize(): Promise<ParameterCheckpoint> {
    this.assertUsable('serialize');
    return serializeSet(this, { emaReady: this.emaReady, steps: this.steps, stateNames: [...this.states.keys()] });
  }

  /**
   * Write a checkpoint back (names and shapes must match, in order; all is checked before anything is written).
   * Parts the checkpoint lacks are reset: no ema -> the EMA is marked uninitialised; an optimizer state arena it
   * lacks (v/u for Adamax) is zeroed; step counts it lacks are 0. Gradients are zeroed.
   */
  load(ck: ParameterCheckpoint): void {
    this.assertUsable('load');
    const loaded = loadCheckpoint(this, ck, [...this.states.keys()]);
    this.emaReady = loaded.emaReady;
    this.steps = loaded.steps;
    this.lastOptimizer = null;
    this.zeroGrad();
  }

  /** Free all arenas and the parameter tensors. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const fn of this.disposers.splice(0)) fn();
    const all: Tensor[] = [...this.paramWindows, ...this.gradWindows, this.paramArena, this.gradArena];
    for (const p of this.params.values()) all.push(p); // disposes p.grad too
    for (const a of this.states.values()) all.push(a.whole, ...a.windows);
    if (this.lastClip) all.push(this.lastClip);
    for (const t of all) t.dispose('ParameterSet disposed');
    this.params.clear();
    this.states.clear();
  }
}
