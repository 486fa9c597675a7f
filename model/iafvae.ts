// IAF ResNet-VAE (Kingma et al. 2016; docs/MODEL.md §3) on NHWC images: bidirectional inference, one IAF step
// per stochastic layer in the released code's form (z' = (z - 0.1 m) / exp(0.1 s), log q += 0.1 s), free
// bits per channel per layer. Choices where the sources differ:
// - weight norm w = g * V / ||V|| (per output channel for convs and transposed convs, g linear), with
//   data-dependent init (scale 0.1 for regular convs, 1.0 for AR convs; zero-variance channels keep g);
// - resampling as the TF code: nearest-subsample the residual path when going down (picks (2i, 2j)),
//   nearest-upsample + transposed conv when going up;
// - SAME padding as TF (asymmetric for stride 2), so shapes match the released model;
// - the decoder output is the per-pixel logistic mean in (-0.5, 0.5), clipped to [-0.5 + 1/512, 0.5 - 1/512];
//   its per-channel log-scales live in the AGAVE model (they belong to p(y|z)).
import { ops, type Tensor } from '../engine/index.js';
import * as gen from '../engine/generative/index.js';
import { Ctx, ParamBuilder, WnConv, WnDeconv, channels } from './layers.js';

export interface IafVaeConfig {
  /** Hidden channels H. */
  hidden: number;
  /** Latent channels Z per stochastic layer (hidden % latent == 0). */
  latent: number;
  /** Levels; level i >= 1 starts with a stride-2 block. Top resolution = image / 2^(depth). */
  depth: number;
  /** Blocks (stochastic layers) per level. */
  blocks: number;
  /** Free-bits floor per channel per layer (nats). */
  klMin: number;
  /** Input image channels. */
  channels: number;
  /** Output channels of the decoder mean (the auxiliary image's channels). */
  outChannels: number;
}

export interface VaeOutput {
  /** Decoder mean f(z), [B, H, W, outChannels] in (-0.5, 0.5). */
  mean: Tensor;
  /** Per layer: elementwise single-sample KL log q(z|.) - log p(z|.) incl. the IAF log-det, [B, h, w, Z]. Empty in sample mode. */
  kl: Tensor[];
}

type DecodeMode = 'posterior' | 'init' | 'prior' | 'given';

const AR_TAPS: [number, number][] = [[1, 1], [1, 2], [2, 0], [2, 1], [2, 2]];

/** IAF's autoregressive 3x3 conv: taps of the reverse-raster mask (§3.5), channel-masked centre tap. */
function arConv(b: ParamBuilder, name: string, cin: number, cout: number, zeroDiagonal: boolean): WnConv {
  return new WnConv(b, name, { kh: 3, kw: 3, cin, cout, pad: [1, 1, 1, 1], taps: AR_TAPS, centreMask: gen.arChannelMask(cin, cout, zeroDiagonal), initScale: 1.0 });
}

/** TF SAME padding [top, bottom, left, right] for a k x k conv with stride s on size n. */
function samePad(n: number, k: number, s: number): [number, number, number, number] {
  const out = Math.ceil(n / s);
  const total = Math.max((out - 1) * s + k - n, 0);
  const top = Math.floor(total / 2);
  return [top, total - top, top, total - top];
}

class IafLayer {
  readonly upA: WnConv;
  readonly upB: WnConv;
  readonly downA: WnConv;
  readonly downB: WnConv | null;
  readonly downDeconv: WnDeconv | null;
  readonly ar1: WnConv;
  readonly ar2: WnConv;
  readonly arM: WnConv;
  readonly arS: WnConv;
  // Saved by the up pass for the down pass: up_a's output, whose channels are [qMean | qLogSd | context | -].
  upOut: Tensor | null = null;

  constructor(b: ParamBuilder, name: string, readonly cfg: IafVaeConfig, readonly downsample: boolean, size: number) {
    const { hidden: H, latent: Z } = cfg;
    const s = downsample ? 2 : 1;
    this.upA = new WnConv(b, `${name}.up_a`, { kh: 3, kw: 3, cin: H, cout: 2 * Z + 2 * H, stride: s, pad: samePad(size, 3, s), initScale: 0.1 });
    this.upB = new WnConv(b, `${name}.up_b`, { kh: 3, kw: 3, cin: H, cout: H, pad: [1, 1, 1, 1], initScale: 0.1 });
    const inner = size / s;
    this.downA = new WnConv(b, `${name}.down_a`, { kh: 3, kw: 3, cin: H, cout: 4 * Z + 2 * H, pad: samePad(inner, 3, 1), initScale: 0.1 });
    if (downsample) {
      this.downB = null;
      this.downDeconv = new WnDeconv(b, `${name}.down_b`, { kh: 3, kw: 3, cin: Z + H, cout: H, stride: 2, crop: [0, 0], outSize: (h, w) => [2 * h, 2 * w], initScale: 0.1 });
    } else {
      this.downB = new WnConv(b, `${name}.down_b`, { kh: 3, kw: 3, cin: Z + H, cout: H, pad: [1, 1, 1, 1], initScale: 0.1 });
      this.downDeconv = null;
    }
    this.ar1 = arConv(b, `${name}.ar1`, Z, H, false);
    this.ar2 = arConv(b, `${name}.ar2`, H, H, false);
    this.arM = arConv(b, `${name}.ar_m`, H, Z, true);
    this.arS = arConv(b, `${name}.ar_s`, H, Z, true);
  }

  up(ctx: Ctx, h: Tensor): Tensor {
    const { hidden: H, latent: Z } = this.cfg;
    const t = this.upA.forward(ctx, ops.elu(h));
    this.upOut = t;
    const r = this.upB.forward(ctx, ops.elu(channels(t, 2 * Z + H, 2 * Z + 2 * H)));
    const hRes = this.downsample ? subsample(h) : h;
    return ops.addScaled(hRes, r, 0.1);
  }

  /**
   * mode 'posterior': z ~ q (train/eval); 'init': z ~ p but the IAF and KL path still runs (so its layers get
   * their data-dependent init, as the TF code's init mode); 'prior': z ~ p only (sampling).
   */
  down(ctx: Ctx, h: Tensor, mode: DecodeMode, kl: Tensor[], latents: Tensor[] | null = null, given: Tensor | null = null): Tensor {
    const { hidden: H, latent: Z } = this.cfg;
    const e = ctx.engine;
    const t = this.downA.forward(ctx, ops.elu(h));
    const hDet = channels(t, 4 * Z + H, 4 * Z + 2 * H);
    let z: Tensor;
    if (mode === 'given') {
      z = given!;
    } else if (mode === 'prior') {
      const pMean = channels(t, 0, Z);
      const pLogSd = channels(t, Z, 2 * Z);
      z = gen.gaussianSample(pMean, pLogSd, e.normal(pMean.shape, 0, 1, { seed: ctx.seed, stream: ctx.nextStream(), offset: ctx.noiseOffset(pMean.shape) }));
    } else {
      // down_a's channels are [pMean | pLogSd | rMean | rLogSd | context | hDet]; the posterior's parameters are
      // sums of up_a's and down_a's windows (the fused ops read them in place: no slices).
      const epsShape = [...t.shape.slice(0, -1), Z];
      const eps = e.normal(epsShape, 0, 1, { seed: ctx.seed, stream: ctx.nextStream(), offset: ctx.noiseOffset(epsShape) });
      const post = gen.iafPosterior(this.upOut!, t, eps, {
        latent: Z,
        context: H,
        up: { mean: 0, logStd: Z, context: 2 * Z },
        down: { mean: 2 * Z, logStd: 3 * Z, context: 4 * Z, priorMean: 0, priorLogStd: Z },
        fromPrior: mode === 'init',
      });
      const a1 = ops.elu(ops.add(this.ar1.forward(ctx, post.z0), post.context));
      const a2 = ops.elu(this.ar2.forward(ctx, a1));
      const step = gen.iafStep(post.z0, this.arM.forward(ctx, a2), this.arS.forward(ctx, a2));
      z = step.z;
      latents?.push(z);
      kl.push(gen.iafKl(post.logq0, step.logDet, z, t, { mean: 0, logStd: Z }));
    }
    const r = gen.eluPair(z, hDet); // elu(concat([z, hDet])) without the concatenation
    if (this.downsample) return ops.addScaled(gen.upsampleNearest(h, 2), this.downDeconv!.forward(ctx, r), 0.1);
    return ops.addScaled(h, this.downB!.forward(ctx, r), 0.1);
  }
}

/** Nearest subsampling by 2 (keeps pixel (2i, 2j)), as the TF code does on the residual path. */
function subsample(h: Tensor): Tensor {
  const [B, Hh, W, C] = h.shape as [number, number, number, number];
  const v = ops.reshape(h, [B, Hh / 2, 2, W / 2, 2 * C]);
  const picked = ops.slice(v, [0, 0, 0, 0, 0], [B, Hh / 2, 1, W / 2, C]);
  return ops.reshape(picked, [B, Hh / 2, W / 2, C]);
}

export class IafVae {
  private readonly stem: WnConv;
  private readonly layers: IafLayer[] = [];
  private readonly head: WnDeconv;
  readonly topName = 'vae.h_top';

  constructor(b: ParamBuilder, readonly cfg: IafVaeConfig, readonly imageSize: number) {
    if (cfg.hidden % cfg.latent !== 0) throw new Error(`IAF-VAE: hidden ${cfg.hidden} must be a multiple of latent ${cfg.latent} (AR masks)`);
    const stemSize = imageSize / 2;
    if (stemSize / 2 ** (cfg.depth - 1) < 1 || !Number.isInteger(stemSize / 2 ** (cfg.depth - 1))) throw new Error(`IAF-VAE: image ${imageSize} too small for depth ${cfg.depth}`);
    this.stem = new WnConv(b, 'vae.stem', { kh: 5, kw: 5, cin: cfg.channels, cout: cfg.hidden, stride: 2, pad: samePad(imageSize, 5, 2), initScale: 0.1 });
    let size = stemSize;
    for (let i = 0; i < cfg.depth; i++) {
      for (let j = 0; j < cfg.blocks; j++) {
        const down = i > 0 && j === 0;
        this.layers.push(new IafLayer(b, `vae.layer${i}.${j}`, cfg, down, size));
        if (down) size /= 2;
      }
    }
    b.add(this.topName, [cfg.hidden], 'zeros');
    // Head: 5x5 stride-2 transposed conv back to the image size; crop = the SAME conv's top padding.
    const crop = samePad(imageSize, 5, 2)[0];
    this.head = new WnDeconv(b, 'vae.head', { kh: 5, kw: 5, cin: cfg.hidden, cout: cfg.outChannels, stride: 2, crop: [crop, crop], outSize: (h, w) => [2 * h, 2 * w], initScale: 0.1 });
  }

  /** Top resolution (h_top is tiled to it). */
  get topSize(): number {
    return this.imageSize / 2 / 2 ** (this.cfg.depth - 1);
  }

  /** Encode x ([B, S, S, C] in (-0.5, 0.5)) and decode with z ~ q: mean image and per-layer KL terms. */
  forward(ctx: Ctx, x: Tensor): VaeOutput {
    let h = this.stem.forward(ctx, x);
    for (const layer of this.layers) h = layer.up(ctx, h);
    return this.decode(ctx, x.shape[0]!, ctx.init ? 'init' : 'posterior');
  }

  /** Decode with z from the prior (no IAF, no KL): samples of f(z). */
  sample(ctx: Ctx, batch: number): Tensor {
    return this.decode(ctx, batch, 'prior').mean;
  }

  /**
   * The latents z of x (one posterior sample per stochastic layer, after the IAF step), bottom layer first, and
   * decodeLatents(z) = f(z): together, latent interpolations (the paper's Figure 6).
   */
  encodeLatents(ctx: Ctx, x: Tensor): Tensor[] {
    let h = this.stem.forward(ctx, x);
    for (const layer of this.layers) h = layer.up(ctx, h);
    const latents: Tensor[] = [];
    this.decode(ctx, x.shape[0]!, 'posterior', latents);
    return latents.reverse();
  }

  decodeLatents(ctx: Ctx, latents: Tensor[]): Tensor {
    if (latents.length !== this.layers.length) throw new Error(`IAF-VAE: decodeLatents needs ${this.layers.length} latent tensors, got ${latents.length}`);
    return this.decode(ctx, latents[0]!.shape[0]!, 'given', null, latents).mean;
  }

  private decode(ctx: Ctx, batch: number, mode: DecodeMode, latents: Tensor[] | null = null, given: Tensor[] | null = null): VaeOutput {
    const s = this.topSize;
    let h = ops.broadcastTo(ops.reshape(ctx.p(this.topName), [1, 1, 1, this.cfg.hidden]), [batch, s, s, this.cfg.hidden]);
    const kl: Tensor[] = [];
    for (let i = this.layers.length - 1; i >= 0; i--) h = this.layers[i]!.down(ctx, h, mode, kl, latents, given ? given[i]! : null);
    for (const layer of this.layers) layer.upOut = null;
    const mean = ops.clamp(this.head.forward(ctx, ops.elu(h)), -0.5 + 1 / 512, 0.5 - 1 / 512);
    return { mean, kl: kl.reverse() };
  }
}
