// AGAVE (Lucas & Verbeek 2018; MODEL_SPEC §1): a shared IAF-VAE encoder q(z|x); a VAE decoder p(y|z) for an
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
import { ops, type Tensor } from '../engine/index.js';
import type { AuxVariant } from '../engine/ops/aux_image.js';
import { Ctx, ParamBuilder } from './layers.js';
import { PixelCnn } from './pixelcnn.js';
import { IafVae } from './iafvae.js';
import type { ModelConfig } from './config.js';

export type Phase = 'vae' | 'pixelcnn' | 'parallel' | 'joint';

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

/** Per-image means in nats; `loss` is the scalar being minimised. */
export interface LossTerms {
  loss: Tensor;
  pixelcnnNll: Tensor | null;
  auxNll: Tensor;
  klTrue: Tensor;
  klObjective: Tensor;
  /** Per image [B]: -log p(x|z) of the PixelCNN (null in the 'vae' phase) and the true KL (log q - log p). */
  perImage: { pixelcnnNll: Tensor | null; kl: Tensor };
  /** For diagnostics: f(z) at the aux resolution (IAF units), the target y (0..255), per-layer elementwise KL [B,h,w,Z]. */
  auxMean: Tensor;
  auxTarget: Tensor;
  klLayers: Tensor[];
}

export class Agave {
  readonly builder = new ParamBuilder();
  readonly vae: IafVae;
  readonly pixelcnn: PixelCnn;
  readonly channels: number;
  readonly auxChannels: number;
  /** Auxiliary image side and the PixelCNN upsampling factor. */
  readonly auxSize: number;
  readonly levels: number;
  readonly logScaleName = 'aux.log_scale';

  constructor(readonly cfg: ModelConfig, readonly aux: AuxConfig, channels = 3) {
    this.channels = channels;
    this.auxChannels = aux.variant === 'gray4' ? 1 : channels;
    if (aux.variant === 'gray4' && channels !== 3) throw new Error('aux variant gray4 needs RGB images');
    const m = /^(\d+)x(\d+)$/.exec(aux.variant);
    this.auxSize = m ? Number(m[1]) : cfg.imageSize;
    if (this.auxSize > cfg.imageSize || cfg.imageSize % this.auxSize !== 0) throw new Error(`aux resolution ${aux.variant} must divide the image size ${cfg.imageSize}`);
    this.levels = ops.auxLevels(aux.variant, aux.levels);
    this.vae = new IafVae(this.builder, { ...cfg.vae, channels, outChannels: this.auxChannels }, cfg.imageSize);
    this.pixelcnn = new PixelCnn(this.builder, { ...cfg.pixelcnn, channels, condChannels: this.auxChannels });
    this.builder.add(this.logScaleName, [this.auxChannels], 'zeros');
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
    return f === 1 ? fullMean : ops.avgPool(fullMean, f);
  }

  /** The PixelCNN's conditioning image from f(z): upsampled to the image size and scaled to [-1, 1]. */
  conditioning(auxMean: Tensor): Tensor {
    const f = this.cfg.imageSize / this.auxSize;
    return ops.mulScalar(f === 1 ? auxMean : ops.upsampleNearest(auxMean, f), 2);
  }

  /** One forward pass on a batch of images x255 [B, S, S, C] (float 0..255): the loss and its terms. */
  loss(ctx: Ctx, x255: Tensor, opt: LossOptions): LossTerms {
    const e = ctx.engine;
    const y = e.noGrad(() => ops.auxTarget(x255, this.aux.variant, this.aux.levels));
    const runVae = () => this.vae.forward(ctx, Agave.vaeInput(x255));
    const vae = opt.phase === 'pixelcnn' ? e.noGrad(runVae) : runVae();
    const fz = this.auxMean(vae.mean);
    // 'parallel': the PixelCNN sees f(z) but sends no gradient into the VAE (a detached copy).
    const fzForPixelcnn = opt.phase === 'parallel' ? e.noGrad(() => ops.mulScalar(fz, 1)) : fz;
    const auxLl = ops.discretizedLogisticLogLikelihood(fz, ctx.p(this.logScaleName), y, this.levels);
    const auxNll = ops.neg(ops.mean(auxLl));
    let klTrue: Tensor | null = null;
    let klObjective: Tensor | null = null;
    for (const kl of vae.kl) {
      const fb = ops.freeBitsKL(kl, this.cfg.vae.klMin);
      klTrue = klTrue ? ops.add(klTrue, fb.trueKL) : fb.trueKL;
      klObjective = klObjective ? ops.add(klObjective, fb.objective) : fb.objective;
    }
    if (!klTrue || !klObjective) throw new Error('AGAVE: the VAE produced no stochastic layer');
    const klMean = ops.mean(klTrue);
    let pixelcnnNll: Tensor | null = null;
    let pixelcnnPerImage: Tensor | null = null;
    if (opt.phase !== 'vae') {
      const x = Agave.pixelcnnInput(x255);
      const params = this.pixelcnn.forward(ctx, x, this.conditioning(fzForPixelcnn));
      pixelcnnPerImage = ops.neg(ops.dmolLogLikelihood(params, x, this.cfg.pixelcnn.mixtures));
      pixelcnnNll = ops.mean(pixelcnnPerImage);
    }
    const parts: Tensor[] = [];
    if (pixelcnnNll) parts.push(pixelcnnNll);
    if (opt.phase !== 'pixelcnn') {
      if (opt.useAux) parts.push(auxNll);
      parts.push(ops.mulScalar(klObjective, opt.lambda));
    }
    let loss = parts[0]!;
    for (const p of parts.slice(1)) loss = ops.add(loss, p);
    return {
      loss: ops.reshape(loss, [1]),
      pixelcnnNll,
      auxNll,
      klTrue: klMean,
      klObjective,
      perImage: { pixelcnnNll: pixelcnnPerImage, kl: klTrue },
      auxMean: fz,
      auxTarget: y,
      klLayers: vae.kl,
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
      const y = ops.auxTarget(x255, this.aux.variant, this.aux.levels);
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

/** IAF units (-0.5, 0.5) -> pixel values 0..255. */
export function toPixels(mean: Tensor): Tensor {
  return ops.clamp(ops.mulScalar(ops.addScalar(mean, 0.5), 256), 0, 255);
}

export { Ctx };
