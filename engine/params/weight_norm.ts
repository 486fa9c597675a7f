// Weight normalisation of every weight-normed layer in one pass: the effective weights
// w = g * (m * v) / ||m * v|| (one norm per output channel, m a layer's optional autoregressive mask) of all
// layers are written by ONE dispatch per arena chunk into an arena that mirrors the parameter arena's layout,
// and a layer reads its weight as a window of it at its V's offset. When the tape records, the windows are
// leaves whose gradients land in a mirror gradient arena, and one dispatch after backward() (a tape hook) turns
// those into the gradients of every V and g, accumulated into the parameter set's gradient arena.
//
// That is two dispatches per step where ops.weightNorm's composite (square, sum, sqrt, div, mul) takes five ops
// and five backward passes per layer; the composite is the reference this is tested against and the fallback
// for a layer whose V and g fall in different arena chunks (only possible when the arena is larger than one
// binding).
import { KERNELS } from '../kernels.js';
import { type Tensor, type TensorEngine, fmtShape } from '../tensor.js';
import { mul, weightNorm } from '../ops/index.js';
import type { ParameterSet } from './parameter_set.js';

/** One weight-normed layer: its direction V, its gain g (one per output channel), the output-channel axis of V. */
export interface WeightNormLayer {
  v: string;
  g: string;
  /** Axis of V holding the output channels (default: the last; transposed convs [KH, KW, Cout, Cin]: 2). */
  outAxis?: number;
  /** Multiplies V elementwise before the norm (autoregressive convs), V's shape. */
  mask?: Float32Array;
}

const CHANNEL_WORDS = 8;

interface Group {
  chunk: { offset: number; size: number };
  channels: number;
  table: Tensor;
}

/** The static part: which channel lies where. Build once per parameter set (WeightNorm.create). */
export class WeightNorm {
  disposed = false;

  private constructor(
    readonly params: ParameterSet,
    private readonly layers: Map<string, WeightNormLayer & { outAxis: number }>,
    private readonly groups: Group[],
    /** Layers computed by the composite ops.weightNorm (V and g in different chunks). */
    readonly fallback: ReadonlySet<string>,
    private readonly masks: Tensor,
    private readonly maskViews: Map<string, Tensor>,
  ) {}

  static create(params: ParameterSet, layers: readonly WeightNormLayer[]): WeightNorm {
    const e = params.engine;
    const byV = new Map<string, WeightNormLayer & { outAxis: number }>();
    const chunks = params.chunkRanges;
    const rows: number[][] = chunks.map(() => []);
    const fallback = new Set<string>();
    const maskData: number[] = [];
    for (const layer of layers) {
      const v = params.get(layer.v);
      const g = params.get(layer.g);
      const axis = (layer.outAxis ?? -1) < 0 ? v.rank + (layer.outAxis ?? -1) : layer.outAxis!;
      if (axis < 0 || axis >= v.rank) throw new Error(`WeightNorm: axis ${layer.outAxis} out of range for '${layer.v}' ${fmtShape(v.shape)}`);
      const C = v.shape[axis]!;
      if (g.size !== C) throw new Error(`WeightNorm: '${layer.g}' ${fmtShape(g.shape)} must have ${C} elements (axis ${axis} of '${layer.v}' ${fmtShape(v.shape)})`);
      if (layer.mask && layer.mask.length !== v.size) throw new Error(`WeightNorm: the mask of '${layer.v}' has ${layer.mask.length} values for ${fmtShape(v.shape)}`);
      if (byV.has(layer.v)) throw new Error(`WeightNorm: '${layer.v}' is listed twice`);
      byV.set(layer.v, { ...layer, outAxis: axis });
      const vo = params.offsetOf(layer.v);
      const go = params.offsetOf(layer.g);
      const k = chunks.findIndex((c) => vo >= c.offset && vo + v.size <= c.offset + c.size);
      const chunk = chunks[k];
      if (!chunk || go < chunk.offset || go + C > chunk.offset + chunk.size) {
        fallback.add(layer.v);
        continue;
      }
      let maskDelta = 0;
      if (layer.mask) {
        maskDelta = (maskData.length - (vo - chunk.offset)) >>> 0;
        for (const m of layer.mask) maskData.push(m);
      }
      const inner = v.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
      const R = v.size / C;
      for (let c = 0; c < C; c++) {
        rows[k]!.push(vo - chunk.offset + c * inner, inner, C * inner, R, go - chunk.offset + c, maskDelta, layer.mask ? 1 : 0, 0);
      }
    }
    const groups: Group[] = [];
    rows.forEach((r, k) => {
      if (r.length === 0) return;
      const words = new Uint32Array(r);
      groups.push({ chunk: chunks[k]!, channels: r.length / CHANNEL_WORDS, table: e.tensor(new Float32Array(words.buffer), [words.length]).keep() });
    });
    const masks = e.tensor(maskData.length > 0 ? maskData : [0], [Math.max(1, maskData.length)]).keep();
    const maskViews = new Map<string, Tensor>();
    for (const name of fallback) {
      const l = byV.get(name)!;
      if (l.mask) maskViews.set(name, e.tensor(l.mask, params.get(name).shape).keep());
    }
    const wn = new WeightNorm(params, byV, groups, fallback, masks, maskViews);
    params.onDispose(() => wn.dispose());
    return wn;
  }

  /** Number of dispatches of a materialise() (and of its backward). */
  get dispatches(): number {
    return this.groups.length;
  }

  has(v: string): boolean {
    return this.layers.has(v);
  }

  /**
   * The effective weights of every layer (one dispatch per chunk). While the tape records they are leaves whose
   * gradients are turned into V's and g's gradients at the end of the next backward().
   */
  materialise(): EffectiveWeights {
    const e = this.params.engine;
    const size = this.params.arenaSize;
    const w = flat(e, size, 'weightNorm.w');
    const norms = this.groups.map((gr) => flat(e, gr.channels, 'weightNorm.norms'));
    this.groups.forEach((gr, i) => {
      const v = e.window(this.params.paramArena, gr.chunk.offset, [gr.chunk.size], 'weightNorm.v');
      const wc = e.window(w, gr.chunk.offset, [gr.chunk.size], 'weightNorm.w');
      e.dispatch({ kernel: KERNELS.weight_norm, params: { n_channels: gr.channels }, inputs: { table: gr.table, v, mask: this.masks }, outputs: { w: wc, norms: norms[i]! }, workgroups: gr.channels, label: 'weightNorm' });
      v.dispose();
      wc.dispose();
    });
    const recording = e.tape.recording && [...this.layers.values()].some((l) => this.params.get(l.v).requiresGrad || this.params.get(l.g).requiresGrad);
    // Where the weight gradients land: the V slots of the gradient arena while they hold zeros (no extra
    // memory; the backward then replaces dL/dw by dL/dV in place), else a mirror arena.
    const inPlace = recording && this.params.gradsAreZero;
    const dw = recording ? (inPlace ? this.params.gradArena : flat(e, size, 'weightNorm.dw')) : null;
    const windows = new Map<string, Tensor>();
    for (const name of this.layers.keys()) {
      if (this.fallback.has(name)) continue;
      const shape = this.params.get(name).shape;
      const win = e.window(w, this.params.offsetOf(name), shape, `weightNorm(${name})`);
      if (dw) {
        win.requiresGrad = true;
        win.grad = e.window(dw, this.params.offsetOf(name), shape, `weightNorm.grad(${name})`).keep();
        win.gradFresh = true;
      }
      windows.set(name, win);
    }
    const weights = new EffectiveWeights(this, w, norms, dw && !inPlace ? dw : null, windows, recording, inPlace);
    if (recording) e.tape.afterBackward(() => weights.backward());
    return weights;
  }

  /** The composite weight of a fallback layer (recorded on the tape like any op). */
  composite(v: string): Tensor {
    const l = this.layers.get(v)!;
    let dir = this.params.get(v);
    const m = this.maskViews.get(v);
    if (m) dir = mul(dir, m);
    return weightNorm(dir, this.params.get(l.g), l.outAxis);
  }

  /** @internal */
  runBackward(dw: Tensor | null, norms: Tensor[]): void {
    const e = this.params.engine;
    this.groups.forEach((gr, i) => {
      const v = e.window(this.params.paramArena, gr.chunk.offset, [gr.chunk.size], 'weightNorm.v');
      // in place (dw null): the gradients of w are in `grads` itself; v is bound for the unread dw
      const d = dw ? e.window(dw, gr.chunk.offset, [gr.chunk.size], 'weightNorm.dw') : v;
      const grads = e.window(this.params.gradArena, gr.chunk.offset, [gr.chunk.size], 'weightNorm.grads');
      e.dispatch({ kernel: KERNELS.weight_norm_backward, overrides: { IN_PLACE: dw === null }, params: { n_channels: gr.channels }, inputs: { table: gr.table, v, mask: this.masks, dw: d, norms: norms[i]! }, outputs: { grads }, workgroups: gr.channels, label: 'weightNorm.backward' });
      v.dispose();
      if (d !== v) d.dispose();
      grads.dispose();
    });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const g of this.groups) g.table.dispose();
    this.masks.dispose();
    for (const m of this.maskViews.values()) m.dispose();
  }
}

/** The effective weights of one materialise(): windows of one arena (composite tensors for fallback layers). */
export class EffectiveWeights {
  private readonly composites = new Map<string, Tensor>();
  private done = false;
  private kept = false;

  constructor(
    private readonly wn: WeightNorm,
    private readonly arena: Tensor,
    private readonly norms: Tensor[],
    /** The mirror gradient arena (null when not recording or in place). */
    private dw: Tensor | null,
    private readonly windows: Map<string, Tensor>,
    private readonly recording: boolean,
    private readonly inPlace: boolean,
  ) {}

  /** The effective weight of the layer whose direction is `v`. */
  get(v: string): Tensor {
    const w = this.windows.get(v);
    if (w) return w;
    if (!this.wn.has(v)) throw new Error(`WeightNorm: '${v}' is not a weight-normed layer`);
    let c = this.composites.get(v);
    if (!c) {
      c = this.wn.composite(v);
      if (this.kept) c.keep();
      this.composites.set(v, c);
    }
    return c;
  }

  /** @internal the tape hook: dL/dw of every window -> dL/dV, dL/dg (accumulated). */
  backward(): void {
    if (!this.recording || this.done) return;
    this.done = true;
    // A hook left by a recorded pass whose weights (or parameters) were freed before any backward() ran.
    if (this.arena.disposed || this.wn.disposed || this.dw?.disposed) return;
    this.wn.runBackward(this.inPlace ? null : this.dw, this.norms);
    for (const w of this.windows.values()) {
      w.grad?.dispose('weight-norm gradient consumed');
      w.grad = null;
      w.requiresGrad = false;
    }
    this.dw?.dispose('weight-norm gradient consumed');
    this.dw = null;
  }

  /** keep() everything (frozen sampling contexts own their weights). */
  keep(): this {
    this.kept = true;
    this.arena.keep();
    for (const n of this.norms) n.keep();
    for (const w of this.windows.values()) w.keep();
    for (const c of this.composites.values()) c.keep();
    return this;
  }

  dispose(): void {
    this.arena.dispose();
    for (const n of this.norms) n.dispose();
    for (const w of this.windows.values()) w.dispose();
    for (const c of this.composites.values()) c.dispose();
    this.dw?.dispose();
  }
}

/** A zeroed flat allocation of n elements (clearBuffer, no dispatch). */
function flat(e: TensorEngine, n: number, label: string): Tensor {
  const a = e.arena([[n]], label);
  a.parts[0]!.dispose('flat arena keeps the whole');
  return a.whole;
}
