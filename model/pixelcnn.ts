// Conditional PixelCNN++ (Salimans et al. 2017; docs/MODEL.md §2) on NHWC images, with AGAVE's spatial
// conditioning (§1.4, the recommended "light stream"):
//   c_0 = conv3x3(cond); before each gated-resnet pair l: c_l = c_{l-1} + conv3x3(elu(c_{l-1})); a stride-2
//   conv where the PixelCNN downsamples and a stride-2 transposed conv where it upsamples, so c_l always has
//   the resolution of the layer it feeds; injected into BOTH the u and the ul gated resnets as an extra
//   shortcut input: c1 += nin(concat_elu(c_l)).
// The stream sees only the conditioning image (a function of z, never of pixels of x), so unmasked SAME
// convolutions keep the model autoregressive (tested in test/model).
import { ops, type Tensor } from '../engine/index.js';
import * as gen from '../engine/generative/index.js';
import { Ctx, ParamBuilder, WnConv, WnDeconv, WnNin, downShift, rightShift } from './layers.js';

export interface PixelCnnConfig {
  /** Filters F. */
  filters: number;
  /** Gated resnets per stage R. */
  resnets: number;
  /** Logistic mixture components M. */
  mixtures: number;
  dropout: number;
  /** Image channels (3 RGB, 1 grayscale). */
  channels: number;
  /** Conditioning image channels (0: unconditional). */
  condChannels: number;
}

type ConvKind = 'down' | 'downRight';

/** The conditioning at one position: c and concat_elu(c), computed on first use and shared by both streams. */
interface Cond {
  c: Tensor;
  elu(): Tensor;
}

function condAt(c: Tensor): Cond {
  let e: Tensor | null = null;
  return { c, elu: () => (e ??= gen.concatElu(c)) };
}

/** down_shifted_conv2d / down_right_shifted_conv2d geometry (docs/MODEL.md §2.2). */
function shifted(kind: ConvKind, kh: number, kw: number, cin: number, cout: number, stride = 1, initScale = 1): ConstructorParameters<typeof WnConv>[2] {
  const pad: [number, number, number, number] = kind === 'down' ? [kh - 1, 0, (kw - 1) / 2, (kw - 1) / 2] : [kh - 1, 0, kw - 1, 0];
  return { kh, kw, cin, cout, stride, pad, initScale };
}

/** gated_resnet(x, a, c) of docs/MODEL.md §2.4 plus the conditioning shortcut. */
export class GatedResnet {
  readonly conv1: WnConv;
  readonly conv2: WnConv;
  readonly ninA: WnNin | null;
  readonly ninC: WnNin | null;

  constructor(b: ParamBuilder, name: string, kind: ConvKind, F: number, aChannels: number, cond: boolean) {
    const [kh, kw] = kind === 'down' ? [2, 3] : [2, 2];
    this.conv1 = new WnConv(b, `${name}.conv1`, shifted(kind, kh, kw, 2 * F, F));
    this.ninA = aChannels > 0 ? new WnNin(b, `${name}.nin_a`, 2 * aChannels, F) : null;
    this.ninC = cond ? new WnNin(b, `${name}.nin_c`, 2 * F, F) : null;
    this.conv2 = new WnConv(b, `${name}.conv2`, shifted(kind, kh, kw, 2 * F, 2 * F, 1, 0.1));
  }

  /**
   * a: the shortcut input, or a pair whose channel concatenation it is (never materialised); c: the
   * conditioning at this position and concat_elu of it, made once for both streams (lazily).
   */
  forward(ctx: Ctx, x: Tensor, a: Tensor | [Tensor, Tensor] | null, c: Cond | null, dropout: number): Tensor {
    let h = this.conv1.forward(ctx, gen.concatElu(x));
    // the shortcut inputs are summed in the nins' epilogues (in a frozen context the injection is memoised)
    if (this.ninA && a) h = this.ninA.forward(ctx, Array.isArray(a) ? gen.concatEluPair(a[0], a[1]) : gen.concatElu(a), h);
    const ninC = this.ninC;
    if (ninC && c) h = ctx.frozen ? ops.add(h, this.injection(ctx, c.c)) : ninC.forward(ctx, c.elu(), h);
    // The mask is drawn on concat_elu(h): [..., 2C]; a batch part draws its images' part of the whole batch's mask.
    const noiseShape = [...h.shape.slice(0, -1), 2 * h.shape[h.rank - 1]!];
    const drop = (ctx.training || ctx.init) && dropout > 0 ? { dropout: { p: dropout, seed: ctx.seed, stream: ctx.nextStream(), offset: ctx.noiseOffset(noiseShape) } } : {};
    h = gen.concatElu(h, drop);
    return gen.gate(this.conv2.forward(ctx, h), x);
  }

  /** The conditioning shortcut nin(concat_elu(c)) (memoised in a frozen context: it depends on f(z) only). */
  injection(ctx: Ctx, c: Tensor): Tensor {
    const ninC = this.ninC;
    if (!ninC) throw new Error('GatedResnet.injection: this resnet is unconditional');
    return ctx.memo(`${ninC.name}(c)`, () => ninC.forward(ctx, gen.concatElu(c)));
  }
}

/** The conditioning stream: one residual 3x3 conv per gated-resnet pair, resampled with the PixelCNN. */
export class CondStream {
  private readonly stem: WnConv;
  private readonly layers: WnConv[] = [];
  private readonly downs: WnConv[] = [];
  private readonly ups: WnDeconv[] = [];
  private index = 0;

  constructor(b: ParamBuilder, condChannels: number, F: number, positions: number) {
    this.stem = new WnConv(b, 'cond.stem', { kh: 3, kw: 3, cin: condChannels, cout: F, pad: [1, 1, 1, 1] });
    for (let i = 0; i < positions; i++) this.layers.push(new WnConv(b, `cond.layer${i}`, { kh: 3, kw: 3, cin: F, cout: F, pad: [1, 1, 1, 1], initScale: 0.1 }));
    for (let i = 0; i < 2; i++) {
      this.downs.push(new WnConv(b, `cond.down${i}`, { kh: 3, kw: 3, cin: F, cout: F, stride: 2, pad: [0, 1, 0, 1] }));
      this.ups.push(new WnDeconv(b, `cond.up${i}`, { kh: 3, kw: 3, cin: F, cout: F, stride: 2, crop: [0, 0], outSize: (h, w) => [2 * h, 2 * w] }));
    }
  }

  // Every stage is memoised in a frozen context (sampling): the stream depends on f(z) only.
  start(ctx: Ctx, cond: Tensor): Tensor {
    this.index = 0;
    return ctx.memo('cond.c_stem', () => this.stem.forward(ctx, cond));
  }

  next(ctx: Ctx, c: Tensor): Tensor {
    const i = this.index++;
    const layer = this.layers[i]!;
    return ctx.memo(`cond.c_layer${i}`, () => ops.add(c, layer.forward(ctx, ops.elu(c))));
  }

  down(ctx: Ctx, c: Tensor, i: number): Tensor {
    return ctx.memo(`cond.c_down${i}`, () => this.downs[i]!.forward(ctx, c));
  }

  up(ctx: Ctx, c: Tensor, i: number): Tensor {
    return ctx.memo(`cond.c_up${i}`, () => this.ups[i]!.forward(ctx, c));
  }
}

export class PixelCnn {
  readonly stemU: WnConv;
  readonly stemUlDown: WnConv;
  readonly stemUlRight: WnConv;
  readonly upU: GatedResnet[][] = [];
  readonly upUl: GatedResnet[][] = [];
  readonly downsampleU: WnConv[] = [];
  readonly downsampleUl: WnConv[] = [];
  readonly downU: GatedResnet[][] = [];
  readonly downUl: GatedResnet[][] = [];
  readonly upsampleU: WnDeconv[] = [];
  readonly upsampleUl: WnDeconv[] = [];
  readonly head: WnNin;
  readonly cond: CondStream | null;

  constructor(b: ParamBuilder, readonly cfg: PixelCnnConfig) {
    const { filters: F, resnets: R, mixtures: M, channels: C } = cfg;
    const cin = C + 1; // x and the constant ones channel
    const cond = cfg.condChannels > 0;
    this.stemU = new WnConv(b, 'pcnn.stem_u', shifted('down', 2, 3, cin, F));
    this.stemUlDown = new WnConv(b, 'pcnn.stem_ul_down', shifted('down', 1, 3, cin, F));
    this.stemUlRight = new WnConv(b, 'pcnn.stem_ul_right', shifted('downRight', 2, 1, cin, F));
    for (let s = 0; s < 3; s++) {
      const us: GatedResnet[] = [];
      const uls: GatedResnet[] = [];
      for (let r = 0; r < R; r++) {
        us.push(new GatedResnet(b, `pcnn.up${s}.${r}.u`, 'down', F, 0, cond));
        uls.push(new GatedResnet(b, `pcnn.up${s}.${r}.ul`, 'downRight', F, F, cond));
      }
      this.upU.push(us);
      this.upUl.push(uls);
      if (s < 2) {
        this.downsampleU.push(new WnConv(b, `pcnn.downsample${s}.u`, shifted('down', 2, 3, F, F, 2)));
        this.downsampleUl.push(new WnConv(b, `pcnn.downsample${s}.ul`, shifted('downRight', 2, 2, F, F, 2)));
      }
    }
    for (let s = 0; s < 3; s++) {
      const n = s === 0 ? R : R + 1;
      const us: GatedResnet[] = [];
      const uls: GatedResnet[] = [];
      for (let r = 0; r < n; r++) {
        us.push(new GatedResnet(b, `pcnn.down${s}.${r}.u`, 'down', F, F, cond));
        uls.push(new GatedResnet(b, `pcnn.down${s}.${r}.ul`, 'downRight', F, 2 * F, cond));
      }
      this.downU.push(us);
      this.downUl.push(uls);
      if (s < 2) {
        this.upsampleU.push(new WnDeconv(b, `pcnn.upsample${s}.u`, { kh: 2, kw: 3, cin: F, cout: F, stride: 2, crop: [0, 1], outSize: (h, w) => [2 * h, 2 * w] }));
        this.upsampleUl.push(new WnDeconv(b, `pcnn.upsample${s}.ul`, { kh: 2, kw: 2, cin: F, cout: F, stride: 2, crop: [0, 0], outSize: (h, w) => [2 * h, 2 * w] }));
      }
    }
    const outChannels = C === 3 ? 10 * M : 3 * M;
    this.head = new WnNin(b, 'pcnn.head', F, outChannels);
    this.cond = cond ? new CondStream(b, cfg.condChannels, F, 3 * R + (R + 2 * (R + 1))) : null;
  }

  /**
   * x: [B, H, W, C] in [-1, 1]; cond: [B, H, W, condChannels] in [-1, 1] (or null if unconditional).
   * Returns the DMOL parameters [B, H, W, 10M] (3M for one channel). H and W must be divisible by 4.
   */
  forward(ctx: Ctx, x: Tensor, cond: Tensor | null): Tensor {
    const { resnets: R, dropout } = this.cfg;
    const [, H, W] = x.shape as [number, number, number, number];
    if (H % 4 !== 0 || W % 4 !== 0) throw new Error(`PixelCNN++: image size ${H}x${W} must be divisible by 4 (three stages)`);
    if (this.cond && !cond) throw new Error('PixelCNN++: this model is conditional; pass the conditioning image');
    const xPad = ops.pad(x, [0, 0, 0, 0], [0, 0, 0, 1], 1); // x and a constant ones channel
    const U: Tensor[] = [downShift(this.stemU.forward(ctx, xPad))];
    const UL: Tensor[] = [ops.add(downShift(this.stemUlDown.forward(ctx, xPad)), rightShift(this.stemUlRight.forward(ctx, xPad)))];
    let c = this.cond && cond ? this.cond.start(ctx, cond) : null;
    let at: Cond | null = null;
    const step = (): void => {
      if (c && this.cond) c = this.cond.next(ctx, c);
      at = c ? condAt(c) : null;
    };
    for (let s = 0; s < 3; s++) {
      for (let r = 0; r < R; r++) {
        step();
        const u = this.upU[s]![r]!.forward(ctx, U[U.length - 1]!, null, at, dropout);
        U.push(u);
        UL.push(this.upUl[s]![r]!.forward(ctx, UL[UL.length - 1]!, u, at, dropout));
      }
      if (s < 2) {
        U.push(this.downsampleU[s]!.forward(ctx, U[U.length - 1]!));
        UL.push(this.downsampleUl[s]!.forward(ctx, UL[UL.length - 1]!));
        if (c && this.cond) c = this.cond.down(ctx, c, s);
      }
    }
    let u = U.pop()!;
    let ul = UL.pop()!;
    for (let s = 0; s < 3; s++) {
      for (const [i, layerU] of this.downU[s]!.entries()) {
        step();
        u = layerU.forward(ctx, u, U.pop()!, at, dropout);
        ul = this.downUl[s]![i]!.forward(ctx, ul, [u, UL.pop()!], at, dropout);
      }
      if (s < 2) {
        u = this.upsampleU[s]!.forward(ctx, u);
        ul = this.upsampleUl[s]!.forward(ctx, ul);
        if (c && this.cond) c = this.cond.up(ctx, c, s);
      }
    }
    if (U.length !== 0 || UL.length !== 0) throw new Error(`PixelCNN++: skip lists not consumed (${U.length}, ${UL.length} left)`);
    return this.head.forward(ctx, ops.elu(ul));
  }
}
