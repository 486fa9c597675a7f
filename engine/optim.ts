// Parameters, gradients, optimizer state and Polyak averages held in arenas (Engine.arena), so the optimizer
// step, the EMA update, zeroGrad and the gradient-health check are each one pass over whole arenas: one
// dispatch per chunk of at most maxStorageBufferBindingSize bytes (the paper model's ~105M parameters are
// 420 MB per arena; lavapipe binds at most 128 MiB).
//
// Adamax (MODEL_SPEC §3.9, TF form of openai/iaf tf_utils/adamax.py, NO bias correction), the default:
//   v <- beta1 v + (1 - beta1) g
//   u <- max(beta2 u + eps, |g|)
//   p <- p - lr v / u                       lr = 0.002, beta1 = 0.9, beta2 = 0.999, eps = 1e-8 (§1.5)
// The alternative, Theano AdaMaxAvg (`variant: 'theano'`): u <- max(beta2 u, |g| + eps), the rest the same.
// v and u start at 0 (as TF's slots); gradients are used as accumulated (the caller decides sum vs mean).
//
// Polyak averaging (§2.7, pitfall 1): ema <- decay ema + (1 - decay) p after every step (0.9995 PixelCNN++,
// 0.999 IAF). Call initEma() AFTER data-dependent init so the shadow starts from the initialised weights
// (TF created it from the pre-DDI initialisers). swapToEma()/swapBack() exchange the parameter and EMA arenas
// in place (no third copy); withEma(fn) brackets an evaluation.
//
// Layout: every arena has the same layout as the parameter arena (parts at 256-byte-aligned offsets, gaps
// zero), so element i of every arena belongs to the same scalar. Gaps are updated like parameters with g = 0
// and stay 0. Checkpoints (serialize/load) store parameters packed (concatenated in spec order, no gaps).
import type { Engine } from './engine.js';
import type { KernelSource } from './runner.js';
import { type Tensor, fmtShape, shapeSize } from './tensor.js';
import { KERNELS } from './kernels.js';
import adamaxSrc from '../shaders/adamax.wgsl';
import emaSrc from '../shaders/ema.wgsl';
import gradStatsSrc from '../shaders/grad_stats.wgsl';
import nonFiniteCheckSrc from '../shaders/nonfinite_check.wgsl';

export const OPTIM_KERNELS = {
  adamax: { name: 'adamax', code: adamaxSrc } as KernelSource,
  ema: { name: 'ema', code: emaSrc } as KernelSource,
  grad_stats: { name: 'grad_stats', code: gradStatsSrc } as KernelSource,
  nonfinite_check: { name: 'nonfinite_check', code: nonFiniteCheckSrc } as KernelSource,
};

export type ParamInit = 'zeros' | 'ones' | { normal: number } | Float32Array;

export interface ParamSpec {
  name: string;
  shape: number[];
  /** zeros, ones, N(0, std^2) from Philox (seed, stream = index of the spec), or explicit values. */
  init: ParamInit;
}

export interface ParameterSetOptions {
  /** Largest number of elements one dispatch covers (rounded down to the 256-byte alignment). Default: what
   * maxStorageBufferBindingSize allows. Tests force small chunks with it. */
  maxChunkElements?: number;
}

export interface AdamaxOptions {
  lr?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** 'tf' (default): u <- max(beta2 u + eps, |g|). 'theano': u <- max(beta2 u, |g| + eps). */
  variant?: 'tf' | 'theano';
}

export interface ParameterCheckpoint {
  names: string[];
  shapes: number[][];
  /** Parameters packed in spec order (no alignment gaps). */
  params: Float32Array;
  ema?: Float32Array;
  v?: Float32Array;
  u?: Float32Array;
}

export interface GradientStats {
  /** L2 norm of the whole gradient arena (NaN when finite is false). */
  norm: number;
  /** false when any gradient element is NaN or +-Inf. */
  finite: boolean;
  /** Number of NaN/Inf elements. */
  nonFinite: number;
}

/** The arenas of the training state, in the order nonFiniteCheck() examines them. */
export const STATE_ARENAS = ['params', 'ema', 'adamax.v', 'adamax.u'] as const;
export type StateArena = (typeof STATE_ARENAS)[number];

/** The first non-finite element of one arena. */
export interface NonFiniteHit {
  arena: StateArena;
  /** The parameter holding it ('' when it lies in an alignment gap between parameters). */
  parameter: string;
  /** Its index within that parameter (within the gap when parameter is ''), and in the packed checkpoint order. */
  element: number;
  packedIndex: number;
  /** For a gap: the parameter the gap follows. */
  after?: string;
}

export interface FinitenessReport {
  /** true when every element of the parameters, the EMA and the Adamax state (those that exist) is finite. */
  finite: boolean;
  /** The first non-finite element of each arena that has one, in STATE_ARENAS order. */
  hits: NonFiniteHit[];
}

const STATS_GROUPS = 512;

export class ParameterSet {
  /** Parameters by name (views into the parameter arena; requiresGrad, keep()-ed, .grad in the gradient arena). */
  readonly params = new Map<string, Tensor>();
  /** Number of scalars (without alignment gaps). */
  readonly count: number;
  readonly names: string[];
  readonly shapes: number[][];
  private readonly offsets: number[];
  /** Elements per arena, gaps included. */
  readonly arenaSize: number;
  readonly chunkElements: number;
  private readonly chunks: { offset: number; size: number }[];
  private paramWindows: Tensor[];
  private gradWindows: Tensor[];
  private state: { v: Tensor; u: Tensor; vWindows: Tensor[]; uWindows: Tensor[] } | null = null;
  private emaArena: { whole: Tensor; windows: Tensor[] } | null = null;
  private emaReady = false;
  private swapped = false;
  private disposed = false;
  private mutations = 0;
  private zeroedAt: string | null = null;
  private disposers: (() => void)[] = [];

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
    this.names = specs.map((s) => s.name);
    this.shapes = specs.map((s) => [...s.shape]);
    this.count = this.shapes.reduce((a, s) => a + shapeSize(s), 0);
    this.offsets = parts.map((p) => (p.byteOffset - paramArena.byteOffset) / 4);
    this.arenaSize = paramArena.size;
    const align = Math.max(256, engine.limits.minStorageBufferOffsetAlignment) / 4;
    const limit = Math.floor(engine.limits.maxStorageBufferBindingSize / 4);
    let chunk = Math.min(limit, options.maxChunkElements ?? limit);
    chunk = Math.floor(chunk / align) * align;
    if (chunk <= 0) throw new Error(`ParameterSet: maxChunkElements ${options.maxChunkElements} is below the ${align}-element alignment`);
    this.chunkElements = chunk;
    this.chunks = [];
    for (let o = 0; o < this.arenaSize; o += chunk) this.chunks.push({ offset: o, size: Math.min(chunk, this.arenaSize - o) });
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
      if (typeof s.init === 'object' && !(s.init instanceof Float32Array) && !(s.init.normal >= 0)) throw new Error(`ParameterSet: '${s.name}': normal std must be >= 0, got ${s.init.normal}`);
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
      const std = init.normal;
      e.dispatch({
        kernel: KERNELS.philox,
        overrides: { NORMAL: true },
        params: { n, stream: index, key0: seed % 0x100000000, key1: Math.floor(seed / 0x100000000), a: 0, b: std, offset: 0 },
        outputs: { y: p },
        workgroups: Math.ceil(n / 256),
        label: `init ${spec.name}`,
      });
    }
  }

  private windowsOf(whole: Tensor, label: string): Tensor[] {
    return this.chunks.map((c) => this.engine.window(whole, c.offset, [c.size], label).keep());
  }

  private assertUsable(what: string, allowSwapped = false): void {
    if (this.disposed) throw new Error(`ParameterSet.${what}: the parameter set was disposed`);
    if (this.swapped && !allowSwapped) throw new Error(`ParameterSet.${what}: the EMA weights are swapped in; call swapBack() first`);
  }

  get(name: string): Tensor {
    const p = this.params.get(name);
    if (!p) throw new Error(`ParameterSet: no parameter '${name}' (have ${this.names.slice(0, 20).join(', ')}${this.names.length > 20 ? ', ...' : ''})`);
    return p;
  }

  /** Element offset of a parameter in the arenas (every arena has the parameter arena's layout). */
  offsetOf(name: string): number {
    const i = this.names.indexOf(name);
    if (i < 0) throw new Error(`ParameterSet: no parameter '${name}'`);
    return this.offsets[i]!;
  }

  /** The ranges [offset, offset + size) of the arenas that one dispatch binds (see maxChunkElements). */
  get chunkRanges(): readonly { offset: number; size: number }[] {
    return this.chunks;
  }

  /**
   * Changes whenever the parameter values may have changed through this set (Adamax, EMA swaps) or through
   * Engine.write (loads, tests): what was computed from the parameters before is stale when it differs.
   */
  get version(): string {
    return `${this.mutations}:${this.engine.writeCount}`;
  }

  /** Run fn when the set is disposed (objects built on its layout, e.g. WeightNorm). */
  onDispose(fn: () => void): void {
    this.disposers.push(fn);
  }

  /** Number of dispatches one arena pass takes. */
  get chunkCount(): number {
    return this.chunks.length;
  }

  get hasEma(): boolean {
    return this.emaReady;
  }

  /** Zero the whole gradient arena (one clearBuffer command). */
  zeroGrad(): void {
    this.assertUsable('zeroGrad', true);
    clearWhole(this.engine, this.gradArena);
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

  private ensureState(): NonNullable<ParameterSet['state']> {
    if (!this.state) {
      const v = flatArena(this.engine, this.arenaSize, 'adamax.v');
      const u = flatArena(this.engine, this.arenaSize, 'adamax.u');
      this.state = { v, u, vWindows: this.windowsOf(v, 'adamax.v.chunk'), uWindows: this.windowsOf(u, 'adamax.u.chunk') };
    }
    return this.state;
  }

  private ensureEma(): NonNullable<ParameterSet['emaArena']> {
    if (!this.emaArena) {
      const whole = flatArena(this.engine, this.arenaSize, 'ema');
      this.emaArena = { whole, windows: this.windowsOf(whole, 'ema.chunk') };
    }
    return this.emaArena;
  }

  /** One Adamax step over all parameters (one dispatch per chunk). Allocates v and u (zeroed) on first use. */
  adamaxStep(opts: AdamaxOptions = {}): void {
    this.assertUsable('adamaxStep');
    this.mutations++;
    const lr = opts.lr ?? 0.002;
    const beta1 = opts.beta1 ?? 0.9;
    const beta2 = opts.beta2 ?? 0.999;
    const eps = opts.eps ?? 1e-8;
    const st = this.ensureState();
    const theano = (opts.variant ?? 'tf') === 'theano';
    this.chunks.forEach((c, k) => {
      this.engine.dispatch({
        kernel: OPTIM_KERNELS.adamax,
        overrides: { THEANO: theano },
        params: { n: c.size, lr, beta1, one_minus_beta1: 1 - beta1, beta2, eps },
        inputs: { g: this.gradWindows[k]! },
        outputs: { p: this.paramWindows[k]!, v: st.vWindows[k]!, u: st.uWindows[k]! },
        workgroups: Math.ceil(c.size / 256),
        label: 'adamax',
      });
    });
  }

  /** Copy the parameters into the EMA arena (after data-dependent init, pitfall 1). */
  initEma(): void {
    this.assertUsable('initEma');
    const ema = this.ensureEma();
    copyWhole(this.engine, this.paramArena, ema.whole);
    this.emaReady = true;
  }

  /**
   * ema <- decay * ema + (1 - decay) * p, one pass. initEma() first. `decay` may be a function of the
   * parameter's name (e.g. one decay per sub-model): consecutive parameters with the same decay form one
   * range of the arena, so the pass takes one dispatch per range (and per chunk).
   */
  emaUpdate(decay: number | ((name: string) => number)): void {
    this.assertUsable('emaUpdate');
    if (!this.emaReady || !this.emaArena) throw new Error('ParameterSet.emaUpdate: call initEma() first (after data-dependent init)');
    if (typeof decay === 'number') {
      checkDecay(decay);
      this.emaPass(0, decay);
      return;
    }
    const ranges: { start: number; end: number; decay: number }[] = [];
    this.names.forEach((name, i) => {
      const d = decay(name);
      checkDecay(d, name);
      const start = this.offsets[i]!;
      const last = ranges[ranges.length - 1];
      if (last && last.decay === d) return;
      if (last) last.end = start;
      ranges.push({ start, end: this.arenaSize, decay: d });
    });
    const ema = this.emaArena;
    for (const r of ranges) {
      for (let o = r.start; o < r.end; o += this.chunkElements) {
        const n = Math.min(this.chunkElements, r.end - o);
        const p = this.engine.window(this.paramArena, o, [n], 'ema.range');
        const m = this.engine.window(ema.whole, o, [n], 'ema.range');
        this.engine.dispatch({
          kernel: OPTIM_KERNELS.ema,
          overrides: { MODE: 0 },
          params: { n, decay: r.decay, one_minus_decay: 1 - r.decay },
          outputs: { p, ema: m },
          workgroups: Math.ceil(n / 256),
          label: 'ema',
        });
        p.dispose();
        m.dispose();
      }
    }
  }

  private emaPass(mode: 0 | 1, decay: number): void {
    const ema = this.emaArena!;
    this.chunks.forEach((c, k) => {
      this.engine.dispatch({
        kernel: OPTIM_KERNELS.ema,
        overrides: { MODE: mode },
        params: { n: c.size, decay, one_minus_decay: 1 - decay },
        outputs: { p: this.paramWindows[k]!, ema: ema.windows[k]! },
        workgroups: Math.ceil(c.size / 256),
        label: mode === 0 ? 'ema' : 'ema.swap',
      });
    });
  }

  /** Exchange parameters and EMA in place: the parameter tensors now hold the averaged weights. */
  swapToEma(): void {
    this.assertUsable('swapToEma');
    if (!this.emaReady) throw new Error('ParameterSet.swapToEma: no EMA yet (call initEma())');
    this.emaPass(1, 0);
    this.mutations++;
    this.swapped = true;
  }

  /** Undo swapToEma(). */
  swapBack(): void {
    if (this.disposed) throw new Error('ParameterSet.swapBack: the parameter set was disposed');
    if (!this.swapped) throw new Error('ParameterSet.swapBack: the EMA weights are not swapped in');
    this.emaPass(1, 0);
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

  /** L2 norm and NaN/Inf check of the whole gradient arena: one strided reduction dispatch per chunk. */
  async gradientStats(): Promise<GradientStats> {
    this.assertUsable('gradientStats', true);
    const e = this.engine;
    if (this.chunks.length === 0) return { norm: 0, finite: true, nonFinite: 0 };
    const partials = e.empty([this.chunks.length * 2 * STATS_GROUPS], 'gradientStats');
    const used = this.chunks.map((c) => Math.min(STATS_GROUPS, Math.ceil(c.size / 256)));
    try {
      this.chunks.forEach((c, k) => {
        e.dispatch({
          kernel: OPTIM_KERNELS.grad_stats,
          params: { n: c.size, out_offset: k * 2 * STATS_GROUPS },
          inputs: { g: this.gradWindows[k]! },
          outputs: { out: partials },
          workgroups: used[k]!,
          label: 'gradientStats',
        });
      });
      const r = await partials.read();
      let sum = 0;
      let bad = 0;
      used.forEach((w, k) => {
        for (let i = 0; i < w; i++) {
          sum += r[k * 2 * STATS_GROUPS + 2 * i]!;
          bad += r[k * 2 * STATS_GROUPS + 2 * i + 1]!;
        }
      });
      return { norm: bad > 0 ? NaN : Math.sqrt(sum), finite: bad === 0, nonFinite: bad };
    } finally {
      partials.dispose();
    }
  }

  /**
   * NaN/Inf check of the whole training state (parameters, EMA, Adamax v and u, those that exist): one fused
   * reduction (shaders/nonfinite_check.wgsl, one dispatch per chunk reading all four arenas) into four u32 flags,
   * then one 16-byte readback. Names the first bad element of each arena (its parameter and index).
   */
  async nonFiniteCheck(): Promise<FinitenessReport> {
    this.assertUsable('nonFiniteCheck');
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
    const e = this.engine;
    if (this.arenaSize >= 0x7f800000) throw new Error(`ParameterSet.nonFiniteCheck: ${this.arenaSize} elements per arena exceed what the flags encode (< 0x7f800000)`);
    const flags = e.zeros([4]);
    this.chunks.forEach((c, k) => {
      const p = this.paramWindows[k]!;
      e.dispatch({
        kernel: OPTIM_KERNELS.nonfinite_check,
        params: { n: c.size, base: c.offset, total: this.arenaSize },
        inputs: { p, ema: this.emaArena?.windows[k] ?? p, v: this.state?.vWindows[k] ?? p, u: this.state?.uWindows[k] ?? p },
        outputs: { first: flags },
        workgroups: Math.min(STATS_GROUPS, Math.ceil(c.size / 256)),
        label: 'nonFiniteCheck',
      });
    });
    const present = [true, this.emaReady && this.emaArena !== null, this.state !== null, this.state !== null];
    const report = (bits: Uint32Array): FinitenessReport => {
      const hits: NonFiniteHit[] = [];
      STATE_ARENAS.forEach((arena, k) => {
        if (!present[k] || bits[k] === 0) return;
        hits.push({ arena, ...this.locate(this.arenaSize - bits[k]!) });
      });
      return { finite: hits.length === 0, hits };
    };
    return { flags, report };
  }

  /** The parameter (or alignment gap) holding arena element `index`. */
  private locate(index: number): Omit<NonFiniteHit, 'arena'> {
    let packed = 0;
    for (let i = 0; i < this.names.length; i++) {
      const start = this.offsets[i]!;
      const n = shapeSize(this.shapes[i]!);
      if (index >= start && index < start + n) return { parameter: this.names[i]!, element: index - start, packedIndex: packed + index - start };
      packed += n;
      const next = i + 1 < this.names.length ? this.offsets[i + 1]! : this.arenaSize;
      if (index >= start + n && index < next) return { parameter: '', element: index - start - n, packedIndex: -1, after: this.names[i]! };
    }
    return { parameter: '', element: index, packedIndex: -1 };
  }

  private pack(arena: Float32Array): Float32Array {
    const out = new Float32Array(this.count);
    let k = 0;
    this.shapes.forEach((s, i) => {
      const n = shapeSize(s);
      out.set(arena.subarray(this.offsets[i]!, this.offsets[i]! + n), k);
      k += n;
    });
    return out;
  }

  private unpack(packed: Float32Array, what: string): Float32Array {
    if (packed.length !== this.count) throw new Error(`ParameterSet.load: ${what} has ${packed.length} values, expected ${this.count}`);
    const out = new Float32Array(this.arenaSize);
    let k = 0;
    this.shapes.forEach((s, i) => {
      const n = shapeSize(s);
      out.set(packed.subarray(k, k + n), this.offsets[i]!);
      k += n;
    });
    return out;
  }

  /** Read back the whole arenas (parameters, and EMA / optimizer state where they exist), packed. */
  async serialize(): Promise<ParameterCheckpoint> {
    this.assertUsable('serialize');
    const ck: ParameterCheckpoint = {
      names: [...this.names],
      shapes: this.shapes.map((s) => [...s]),
      params: this.pack(await this.paramArena.read()),
    };
    if (this.emaReady && this.emaArena) ck.ema = this.pack(await this.emaArena.whole.read());
    if (this.state) {
      ck.v = this.pack(await this.state.v.read());
      ck.u = this.pack(await this.state.u.read());
    }
    return ck;
  }

  /**
   * Write a checkpoint back (names and shapes must match, in order). Parts the checkpoint lacks are reset:
   * no ema -> the EMA is marked uninitialised; no v/u -> the optimizer state is zeroed. Gradients are zeroed.
   */
  load(ck: ParameterCheckpoint): void {
    this.assertUsable('load');
    if (ck.names.length !== this.names.length || ck.names.some((n, i) => n !== this.names[i])) {
      throw new Error(`ParameterSet.load: checkpoint parameter names differ (${ck.names.length} vs ${this.names.length} parameters)`);
    }
    ck.shapes.forEach((s, i) => {
      const mine = this.shapes[i]!;
      if (s.length !== mine.length || s.some((d, j) => d !== mine[j])) {
        throw new Error(`ParameterSet.load: '${this.names[i]}' has shape ${fmtShape(s)} in the checkpoint, ${fmtShape(mine)} here`);
      }
    });
    if ((ck.v === undefined) !== (ck.u === undefined)) throw new Error('ParameterSet.load: a checkpoint needs both v and u or neither');
    const e = this.engine;
    e.write(this.paramArena, this.unpack(ck.params, 'params'));
    if (ck.ema) {
      e.write(this.ensureEma().whole, this.unpack(ck.ema, 'ema'));
      this.emaReady = true;
    } else this.emaReady = false;
    if (ck.v && ck.u) {
      const st = this.ensureState();
      e.write(st.v, this.unpack(ck.v, 'v'));
      e.write(st.u, this.unpack(ck.u, 'u'));
    } else if (this.state) {
      clearWhole(e, this.state.v);
      clearWhole(e, this.state.u);
    }
    this.zeroGrad();
  }

  /** Free all arenas and the parameter tensors. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const fn of this.disposers.splice(0)) fn();
    const all: Tensor[] = [...this.paramWindows, ...this.gradWindows, this.paramArena, this.gradArena];
    for (const p of this.params.values()) all.push(p); // disposes p.grad too
    if (this.state) all.push(this.state.v, this.state.u, ...this.state.vWindows, ...this.state.uWindows);
    if (this.emaArena) all.push(this.emaArena.whole, ...this.emaArena.windows);
    for (const t of all) t.dispose('ParameterSet disposed');
    this.params.clear();
    this.state = null;
    this.emaArena = null;
  }
}

function checkDecay(d: number, name?: string): void {
  if (!(d >= 0 && d <= 1)) throw new Error(`ParameterSet.emaUpdate: decay must be in [0, 1], got ${d}${name ? ` for '${name}'` : ''}`);
}

/** A zeroed, kept allocation of n elements (an arena with one part; the part view is released). */
function flatArena(e: Engine, n: number, label: string): Tensor {
  const a = e.arena([[n]], label);
  a.parts[0]!.dispose('flatArena keeps the whole');
  return a.whole.keep();
}

function clearWhole(e: Engine, t: Tensor): void {
  if (t.size > 0) e.runner.copyEncoder().clearBuffer(t.gpuBuffer.buffer, t.byteOffset, t.byteLength);
}

function copyWhole(e: Engine, from: Tensor, to: Tensor): void {
  if (from.size !== to.size) throw new Error(`copy: ${fmtShape(from.shape)} vs ${fmtShape(to.shape)}`);
  if (from.size > 0) e.runner.copyEncoder().copyBufferToBuffer(from.gpuBuffer.buffer, from.byteOffset, to.gpuBuffer.buffer, to.byteOffset, from.byteLength);
}
