// Weight-normalised layers shared by the PixelCNN++ and the IAF-VAE (the forward context, Ctx, is
// model/context.ts).
//
// A model is built in two steps: constructing the layer objects registers parameter specs with a
// ParamBuilder (names, shapes, inits); the trainer then allocates one ParameterSet (arenas) for all of them,
// and forward passes look parameters up by name in the context. Models use engine ops only.
//
// Data-dependent init (docs/MODEL.md §2.7, §3.6): with ctx.init set, every layer computes its pre-activation with
// the current g, b, takes per-channel moments, updates g and b in place (ops.ddiUpdate) and re-runs itself so
// later layers are initialised on the corrected statistics (the fix of openai/pixel-cnn PR #37).
import { ops, type Engine, type ParamSpec, type Tensor, type WeightNormLayer } from '../engine/index.js';
import type { Ctx } from './context.js';

export { Ctx, type CtxOptions } from './context.js';

export class ParamBuilder {
  readonly specs: ParamSpec[] = [];
  /** The weight-normed layers: their effective weights are computed all at once (engine/weight_norm.ts). */
  readonly weightNorms: WeightNormLayer[] = [];
  private readonly names = new Set<string>();

  add(name: string, shape: number[], init: ParamSpec['init']): string {
    if (this.names.has(name)) throw new Error(`model: duplicate parameter '${name}'`);
    this.names.add(name);
    this.specs.push({ name, shape, init });
    return name;
  }

  count(): number {
    return this.specs.reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0);
  }
}

export interface ConvSpec {
  kh: number;
  kw: number;
  cin: number;
  cout: number;
  stride?: number;
  pad?: [number, number, number, number];
  /** DDI target std: 1.0 (PixelCNN++ default, IAF AR convs), 0.1 (second conv of a gated resnet, IAF convs). */
  initScale?: number;
  /** Autoregressive conv: only these taps exist; the centre tap (first entry) is channel-masked. */
  taps?: [number, number][];
  centreMask?: Float32Array;
}

/** Runs fn, then (in init mode) rescales the layer's g/b from the output's moments and runs fn again. */
function withDdi(ctx: Ctx, g: Tensor, b: Tensor, initScale: number, fn: () => Tensor): Tensor {
  if (!ctx.init) return fn();
  const e = ctx.engine;
  e.noGrad(() => {
    const t = fn();
    const m = ops.channelMoments(t);
    ops.ddiUpdate(g, b, m, initScale);
    t.dispose();
    m.mean.dispose();
    m.variance.dispose();
  });
  return fn();
}

const V_STD = 0.05;

/** Weight-normalised conv2d: w = g * V / ||V|| per output channel (docs/MODEL.md §2.3), NHWC. */
export class WnConv {
  private readonly maskCache = new WeakMap<Engine, Tensor>();
  readonly name: string;

  constructor(b: ParamBuilder, name: string, readonly spec: ConvSpec) {
    this.name = name;
    const t = spec.taps ? spec.taps.length : spec.kh * spec.kw;
    const vShape = spec.taps ? [t, spec.cin, spec.cout] : [spec.kh, spec.kw, spec.cin, spec.cout];
    b.add(`${name}.V`, vShape, { normal: V_STD });
    b.add(`${name}.g`, [spec.cout], 'ones');
    b.add(`${name}.b`, [spec.cout], 'zeros');
    this.builder = b;
    b.weightNorms.push({ v: `${name}.V`, g: `${name}.g`, ...(spec.centreMask ? { mask: this.maskData() } : {}) });
  }

  private readonly builder: ParamBuilder;

  /** The effective weight; AR convs mask V before the norm (docs/MODEL.md pitfall 13). */
  weight(ctx: Ctx): Tensor {
    if (!ctx.init) return ctx.weight(this.builder, `${this.name}.V`);
    let v = ctx.p(`${this.name}.V`);
    if (this.spec.centreMask) v = ops.mul(v, this.mask(ctx.engine));
    return ops.weightNorm(v, ctx.p(`${this.name}.g`));
  }

  private maskData(): Float32Array {
    const { cin, cout } = this.spec;
    const data = new Float32Array(this.spec.taps!.length * cin * cout).fill(1);
    data.set(this.spec.centreMask!, 0);
    return data;
  }

  private mask(e: Engine): Tensor {
    let m = this.maskCache.get(e);
    if (!m) {
      const { cin, cout } = this.spec;
      m = e.tensor(this.maskData(), [this.spec.taps!.length, cin, cout]).keep();
      this.maskCache.set(e, m);
    }
    return m;
  }

  forward(ctx: Ctx, x: Tensor): Tensor {
    const s = this.spec;
    const g = ctx.p(`${this.name}.g`);
    const b = ctx.p(`${this.name}.b`);
    return withDdi(ctx, g, b, s.initScale ?? 1, () =>
      ops.conv2d(x, this.weight(ctx), b, { stride: s.stride ?? 1, pad: s.pad ?? [0, 0, 0, 0], ...(s.taps ? { taps: s.taps } : {}) }),
    );
  }
}

export interface DeconvSpec {
  kh: number;
  kw: number;
  cin: number;
  cout: number;
  stride: number;
  crop: [number, number];
  /** Output size as a function of the input size. */
  outSize: (h: number, w: number) => [number, number];
  initScale?: number;
}

/** Weight-normalised transposed conv, V [KH, KW, Cout, Cin], norm per output channel (axis 2). */
export class WnDeconv {
  constructor(b: ParamBuilder, readonly name: string, readonly spec: DeconvSpec) {
    b.add(`${name}.V`, [spec.kh, spec.kw, spec.cout, spec.cin], { normal: V_STD });
    b.add(`${name}.g`, [spec.cout], 'ones');
    b.add(`${name}.b`, [spec.cout], 'zeros');
    b.weightNorms.push({ v: `${name}.V`, g: `${name}.g`, outAxis: 2 });
    this.builder = b;
  }

  private readonly builder: ParamBuilder;

  forward(ctx: Ctx, x: Tensor): Tensor {
    const s = this.spec;
    const g = ctx.p(`${this.name}.g`);
    const b = ctx.p(`${this.name}.b`);
    const outSize = s.outSize(x.shape[1]!, x.shape[2]!);
    return withDdi(ctx, g, b, s.initScale ?? 1, () => ops.convTranspose2d(x, this.weight(ctx), b, { stride: s.stride, outSize, crop: s.crop }));
  }

  /** The effective weight g * V / ||V|| (normed over the output-channel axis). */
  weight(ctx: Ctx): Tensor {
    if (!ctx.init) return ctx.weight(this.builder, `${this.name}.V`);
    return ops.weightNorm(ctx.p(`${this.name}.V`), ctx.p(`${this.name}.g`), 2);
  }
}

/** Weight-normalised nin / dense layer on the channel axis: V [Cin, Cout]. */
export class WnNin {
  constructor(b: ParamBuilder, readonly name: string, cin: number, cout: number, readonly initScale = 1) {
    b.add(`${name}.V`, [cin, cout], { normal: V_STD });
    b.add(`${name}.g`, [cout], 'ones');
    b.add(`${name}.b`, [cout], 'zeros');
    b.weightNorms.push({ v: `${name}.V`, g: `${name}.g` });
    this.builder = b;
  }

  private readonly builder: ParamBuilder;

  /** nin(x) (+ addend, summed in the matmul's epilogue: a residual sum of the output's shape). */
  forward(ctx: Ctx, x: Tensor, addend?: Tensor): Tensor {
    const g = ctx.p(`${this.name}.g`);
    const b = ctx.p(`${this.name}.b`);
    if (ctx.init) {
      // data-dependent init sees the layer's own output; the addend is added after
      const y = withDdi(ctx, g, b, this.initScale, () => ops.nin(x, ops.weightNorm(ctx.p(`${this.name}.V`), g), b));
      return addend ? ops.add(addend, y) : y;
    }
    return ops.nin(x, ctx.weight(this.builder, `${this.name}.V`), b, addend);
  }
}

/** Channel slices [from, to) of an NHWC tensor. */
export function channels(x: Tensor, from: number, to: number): Tensor {
  const s = x.shape;
  return ops.slice(x, [0, 0, 0, from], [s[0]!, s[1]!, s[2]!, to]);
}

/** Shift an NHWC image down by one row (row 0 becomes zeros). */
export function downShift(x: Tensor): Tensor {
  return ops.shift(x, 1, 1);
}

/** Shift an NHWC image right by one column (column 0 becomes zeros). */
export function rightShift(x: Tensor): Tensor {
  return ops.shift(x, 2, 1);
}
