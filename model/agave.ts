// AGAVE (Lucas & Verbeek 2018; docs/MODEL.md §1): a shared IAF-VAE encoder q(z|x); a VAE decoder p(y|z) for an
// auxiliary image y = f_aux(x) with a discretized logistic over K levels (one learned log-scale per channel);
// a PixelCNN++ p(x | f(z)) conditioned on the decoder mean through the spatial conditioning stream. Objective
// (Eq. 7, minimised): PixelCNN NLL + auxiliary NLL + lambda * KL, with free bits on the KL objective and the
// true KL reported. Gradients flow through f(z) into the VAE (the reproduction's stop-gradient is not used),
// except in the pre-training phases: 'parallel' (the paper's recipe, §1.5: the VAE and the PixelCNN trained at
// once but independently, the PixelCNN conditioned on the detached f(z)) and the sequential 'vae' / 'pixelcnn'.
//
// Auxiliary images: identity (K=256), fewer colour levels K, lower resolution (the decoder mean is average-
// pooled to the aux resolution, so f(z) is that pooled image; the PixelCNN sees its nearest upsampling),
// 4-bit grayscale (a one-channel decoder head, K=16).
//
// Model kinds (the paper's baselines from the same parts): 'agave' (the above); 'pixelcnn': PixelCNN++ alone as
// in its paper (no conditioning stream, no VAE; loss = the DMOL NLL, an exact likelihood); 'vae': the IAF-VAE
// alone, its decoder modelling x itself with the discretized logistic over K = 256 levels (the aux image is the
// identity, y = x; loss = -log p(x|z) + lambda * KL with free bits; the evaluated bound is -log p(x|z) + KL).
import { ops, type Tensor } from '../engine/index.js';
import * as gen from '../engine/generative/index.js';
import type { AuxVariant } from '../engine/generative/index.js';
import { Ctx, ParamBuilder } from './layers.js';
import { PixelCnn } from './pixelcnn.js';
import { IafVae } from './iafvae.js';
import type { ModelConfig } from './config.js';

export type Phase = 'vae' | 'pixelcnn' | 'parallel' | 'joint';

/** Which model: AGAVE, or one of the paper's baselines (PixelCNN++ alone, the IAF-VAE alone). */
export type ModelKind = 'agave' | 'pixelcnn' | 'vae';

export const MODEL_KINDS: readonly ModelKind[] = ['agave', 'pixelcnn', 'vae'];

/** Human names of the kinds, for logs and figures. */
export const MODEL_KIND_NAMES: Record<ModelKind, string> = {
  agave: 'AGAVE (IAF-VAE + conditional PixelCNN++)',
  pixelcnn: 'PixelCNN++ alone (unconditional)',
  vae: 'IAF-VAE alone (discretized logistic on x, K = 256)',
};

export interface AuxConfig {
  variant: AuxVariant;
  /** Colour levels of the auxiliary likelihood (default: per variant). */
  levels?: number;
}

export interface LossOptions {
  lambda: number;
  phase: Phase;
  /** false: drop the auxiliary term from the loss (control experiment); it is still reported. */
  useAux: boolean;
}

/**
 * Per-image means in nats; `loss` is the scalar being minimised. Terms a model kind does not have are null
 * (the PixelCNN's in the 'vae' phase and the 'vae' kind; the auxiliary ones in the 'pixelcnn' kind); the KL of
 * the 'pixelcnn' kind, which has no latent variables, is zero.
 */
export interface LossTerms {
  loss: Tensor;
  pixelcnnNll: Tensor | null;
  auxNll: Tensor | null;
  klTrue: Tensor;
  klObjective: Tensor;
  /**
   * Per image [B]: -log p(x|z) of the PixelCNN (null in the 'vae' phase and kind); -log p(x|z) of the model of
   * x (the PixelCNN for 'agave' and 'pixelcnn', the VAE decoder for 'vae'; null in AGAVE's 'vae' phase); the
   * true KL (log q - log p; zeros for 'pixelcnn'); -log p(y|z) of the auxiliary image (null for 'pixelcnn').
   */
  perImage: { pixelcnnNll: Tensor | null; xNll: Tensor | null; kl: Tensor; auxNll: Tensor | null };
  /** For diagnostics: f(z) at the aux resolution (IAF units), the target y (0..255), per-layer elementwise KL [B,h,w,Z]; null / empty for 'pixelcnn'. */
  auxMean: Tensor | null;
  auxTarget: Tensor | null;
  klLayers: Tensor[];
  /**
   * The free-bits statistics, for data-parallel training (train/distributed/): per stochastic layer the batch
   * mean of each channel's KL [Z] (its free-bits gate: the backward passes gradient to the channels above
   * klMin), and the weight of klObjective in `loss` (lambda, or 0 where the phase has no KL term). Empty / 0
   * for 'pixelcnn'. A rank overwrites the means with the global batch's before its backward.
   */
  freeBits: { channelMeans: Tensor[]; klMin: number; weight: number };
}

export class Agave {
  readonly builder = new ParamBuilder();
  private readonly vaePart: IafVae | null;
  private readonly pixelcnnPart: PixelCnn | null;
  readonly channels: number;
  readonly auxChannels: number;
  /** Auxiliary image side and the PixelCNN upsampling factor. */
  readonly auxSize: number;
  readonly levels: number;
  readonly logScaleName = 'aux.log_scale';

  constructor(readonly cfg: ModelConfig, readonly aux: AuxConfig, channels = 3, readonly kind: ModelKind = 'agave') {
    if (kind !== 'agave' && (aux.variant !== 'identity' || (aux.levels !== undefined && aux.levels !== 256))) {
      throw new Error(`model kind ${kind}: the auxiliary image must be the identity with K = 256 (got ${aux.variant}${aux.levels !== undefined ? `, K=${aux.levels}` : ''}); only AGAVE has an auxiliary image`);
    }
    this.channels = channels;
    this.auxChannels = aux.variant === 'gray4' ? 1 : channels;
    if (aux.variant === 'gray4' && channels !== 3) throw new Error('aux variant gray4 needs RGB images');
    const m = /^(\d+)x(\d+)$/.exec(aux.variant);
    this.auxSize = m ? Number(m[1]) : cfg.imageSize;
    if (this.auxSize > cfg.imageSize || cfg.imageSize % this.auxSize !== 0) throw new Error(`aux resolution ${aux.variant} must divide the image size ${cfg.imageSize}`);
    this.levels = gen.auxLevels(aux.variant, aux.levels);
    this.vaePart = kind === 'pixelcnn' ? null : new IafVae(this.builder, { ...cfg.vae, channels, outChannels: this.auxChannels }, cfg.imageSize);
    this.pixelcnnPart = kind === 'vae' ? null : new PixelCnn(this.builder, { ...cfg.pixelcnn, channels, condChannels: kind === 'agave' ? this.auxChannels : 0 });
    if (this.vaePart) this.builder.add(this.logScaleName, [this.auxChannels], 'zeros');
  }

  /** The IAF-VAE (absent in the 'pixelcnn' kind: throws). */
  get vae(): IafVae {
    if (!this.vaePart) throw new Error(`model kind ${this.kind} has no VAE`);
    return this.vaePart;
  }

  /** The PixelCNN++ (absent in the 'vae' kind: throws). */
  get pixelcnn(): PixelCnn {
    if (!this.pixelcnnPart) throw new Error(`model kind ${this.kind} has no PixelCNN`);
    return this.pixelcnnPart;
  }

  get hasVae(): boolean {
    return this.vaePart !== null;
  }

  get hasPixelcnn(): boolean {
    return this.pixelcnnPart !== null;
  }

  /** Parameter counts: all, and per part (the VAE's includes the decoder's log-scales). */
  parameterCounts(): { total: number; vae: number; pixelcnn: number } {
    let vae = 0;
    let pixelcnn = 0;
    for (const s of this.builder.specs) {
      const n = s.shape.reduce((a, b) => a * b, 1);
      if (Agave.partOf(s.name) === 'pixelcnn') pixelcnn += n;
      else vae += n;
    }
    return { total: vae + pixelcnn, vae, pixelcnn };
  }

  /** Which decoder a parameter belongs to: the PixelCNN (its two streams and the conditioning stream) or the VAE (encoder, decoder, aux log-scale). */
  static partOf(name: string): 'vae' | 'pixelcnn' {
    return name.startsWith('pcnn.') || name.startsWith('cond.') ? 'pixelcnn' : 'vae';
  }

  get dims(): number {
    return this.channels * this.cfg.imageSize * this.cfg.imageSize;
  }

  get auxDims(): number {
    return this.auxChannels * this.auxSize * this.auxSize;
  }

  /** IAF units: x in (-0.5, 0.5). */
  static vaeInput(x255: Tensor): Tensor {
    return ops.subScalar(ops.mulScalar(ops.addScalar(x255, 0.5), 1 / 256), 0.5);
  }

  /** PixelCNN units: x in [-1, 1]. */
  static pixelcnnInput(x255: Tensor): Tensor {
    return ops.mulScalar(ops.subScalar(x255, 127.5), 1 / 127.5);
  }

  /** f(z) at the auxiliary resolution, in IAF units. */
  auxMean(fullMean: Tensor): Tensor {
    const f = this.cfg.imageSize / this.auxSize;
    return f === 1 ? fullMean : gen.avgPool(fullMean, f);
  }

  /** The PixelCNN's conditioning image from f(z): upsampled to the image size and scaled to [-1, 1]. */
  conditioning(auxMean: Tensor): Tensor {
    const f = this.cfg.imageSize / this.auxSize;
    return ops.mulScalar(f === 1 ? auxMean : gen.upsampleNearest(auxMean, f), 2);
  }

  /**
   * One forward pass on a batch of images x255 [B, S, S, C] (float 0..255): the loss and its terms. The phase
   * applies to the 'agave' kind; the baselines have one objective (their own part trained alone).
   */
  loss(ctx: Ctx, x255: Tensor, opt: LossOptions): LossTerms {
    if (this.kind === 'pixelcnn') return this.pixelcnnLoss(ctx, x255);
    const e = ctx.engine;
    const phase: Phase = this.kind === 'vae' ? 'vae' : opt.phase;
    const y = e.noGrad(() => gen.auxTarget(x255, this.aux.variant, this.aux.levels));
    const runVae = () => this.vae.forward(ctx, Agave.vaeInput(x255));
    const vae = phase === 'pixelcnn' ? e.noGrad(runVae) : runVae();
    const fz = this.auxMean(vae.mean);
    // 'parallel': the PixelCNN sees f(z) but sends no gradient into the VAE (a detached copy).
    const fzForPixelcnn = phase === 'parallel' ? e.noGrad(() => ops.mulScalar(fz, 1)) : fz;
    const auxLl = gen.discretizedLogisticLogLikelihood(fz, ctx.p(this.logScaleName), y, this.levels);
    const auxNll = ops.neg(ops.mean(auxLl));
    let klTrue: Tensor | null = null;
    let klObjective: Tensor | null = null;
    const channelMeans: Tensor[] = [];
    for (const kl of vae.kl) {
      const fb = gen.freeBitsKL(kl, this.cfg.vae.klMin);
      channelMeans.push(fb.channelKL);
      klTrue = klTrue ? ops.add(klTrue, fb.trueKL) : fb.trueKL;
      klObjective = klObjective ? ops.add(klObjective, fb.objective) : fb.objective;
    }
    if (!klTrue || !klObjective) throw new Error('AGAVE: the VAE produced no stochastic layer');
    const klMean = ops.mean(klTrue);
    let pixelcnnNll: Tensor | null = null;
    let pixelcnnPerImage: Tensor | null = null;
    if (phase !== 'vae') {
      const x = Agave.pixelcnnInput(x255);
      const params = this.pixelcnn.forward(ctx, x, this.conditioning(fzForPixelcnn));
      pixelcnnPerImage = ops.neg(gen.dmolLogLikelihood(params, x, this.cfg.pixelcnn.mixtures));
      pixelcnnNll = ops.mean(pixelcnnPerImage);
    }
    const parts: Tensor[] = [];
    if (pixelcnnNll) parts.push(pixelcnnNll);
    let klWeight = 0;
    if (phase !== 'pixelcnn') {
      // The VAE alone always has its reconstruction term: it is the model of x.
      if (opt.useAux || this.kind === 'vae') parts.push(auxNll);
      parts.push(ops.mulScalar(klObjective, opt.lambda));
      klWeight = opt.lambda;
    }
    let loss = parts[0]!;
    for (const p of parts.slice(1)) loss = ops.add(loss, p);
    return {
      loss: ops.reshape(loss, [1]),
      pixelcnnNll,
      auxNll,
      klTrue: klMean,
      klObjective,
      perImage: { pixelcnnNll: pixelcnnPerImage, xNll: this.kind === 'vae' ? ops.neg(auxLl) : pixelcnnPerImage, kl: klTrue, auxNll: ops.neg(auxLl) },
      auxMean: fz,
      auxTarget: y,
      klLayers: vae.kl,
      freeBits: { channelMeans, klMin: this.cfg.vae.klMin, weight: klWeight },
    };
  }

  /** PixelCNN++ alone: the DMOL NLL of x, unconditional; no latent variables (KL zero). */
  private pixelcnnLoss(ctx: Ctx, x255: Tensor): LossTerms {
    const e = ctx.engine;
    const B = x255.shape[0]!;
    const x = Agave.pixelcnnInput(x255);
    const perImage = ops.neg(gen.dmolLogLikelihood(this.pixelcnn.forward(ctx, x, null), x, this.cfg.pixelcnn.mixtures));
    const nll = ops.mean(perImage);
    const zero = e.zeros([1]);
    return {
      loss: ops.reshape(nll, [1]),
      pixelcnnNll: nll,
      auxNll: null,
      klTrue: zero,
      klObjective: zero,
      perImage: { pixelcnnNll: perImage, xNll: perImage, kl: e.zeros([B]), auxNll: null },
      auxMean: null,
      auxTarget: null,
      klLayers: [],
      freeBits: { channelMeans: [], klMin: 0, weight: 0 },
    };
  }

  /**
   * Data-dependent init of the auxiliary decoder's per-channel log-scale, after the layers' own DDI: the
   * logistic whose standard deviation (s * pi / sqrt(3)) matches the root-mean-square residual of y around f(z)
   * per channel on the init batch. With the IAF code's log s = 0 (scale 1 against data in (-0.5, 0.5)) the
   * reconstruction term gives the encoder almost no signal, and the posterior collapses to the prior long
   * before Adamax (at most lr per step) has shrunk the scale. Returns the log-scales written.
   */
  async initAuxLogScale(ctx: Ctx, x255: Tensor): Promise<Float32Array> {
    const e = ctx.engine;
    const c = 256 / this.levels;
    const { sq, count } = e.noGrad(() => {
      const y = gen.auxTarget(x255, this.aux.variant, this.aux.levels);
      const fz = this.auxMean(this.vae.forward(ctx, Agave.vaeInput(x255)).mean);
      // y's bin centre in IAF units: (lower + c/2) / 256 - 0.5.
      const centre = ops.addScalar(ops.mulScalar(y, 1 / 256), c / 512 - 0.5);
      const r = ops.sub(centre, fz);
      return { sq: ops.sum(ops.square(r), [0, 1, 2]), count: r.size / this.auxChannels };
    });
    const sums = await sq.read();
    const logScale = sums.map((s) => Math.log(Math.max(Math.sqrt(s / count), 1e-3) * Math.sqrt(3) / Math.PI));
    e.write(ctx.p(this.logScaleName), logScale);
    return logScale;
  }

  /** VAE samples: f(z) with z from the prior, in 0..255 at the auxiliary resolution. */
  sampleVae(ctx: Ctx, batch: number): Tensor {
    return toPixels(this.auxMean(this.vae.sample(ctx, batch)));
  }

  /** VAE reconstructions of x255, in 0..255 at the auxiliary resolution. */
  reconstruct(ctx: Ctx, x255: Tensor): Tensor {
    return toPixels(this.auxMean(this.vae.forward(ctx, Agave.vaeInput(x255)).mean));
  }
}

/** IAF units -> pixel units: the inverse of Agave.vaeInput ((x + 0.5) / 256 - 0.5), not clamped. */
export function pixelsOf(mean: Tensor): Tensor {
  return ops.addScalar(ops.mulScalar(ops.addScalar(mean, 0.5), 256), -0.5);
}

/** IAF units (-0.5, 0.5) -> pixel values 0..255 (pixelsOf, clamped: for display). */
export function toPixels(mean: Tensor): Tensor {
  return ops.clamp(pixelsOf(mean), 0, 255);
}

export { Ctx };
