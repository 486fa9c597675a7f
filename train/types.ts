// The types the parts of a training job share (the options, the records of steps and evaluations, the result),
// in their own module so the job's parts (setup, loop, evaluation, experiments) import them from here and not
// from the orchestrator (train/trainer.ts).
import type { AuxVariant } from '../engine/generative/index.js';
import type { TuneMode } from '../engine/index.js';
import type { ModelKind, Phase } from '../model/agave.js';
import type { ConfigName } from '../model/config.js';
import type { SamplerKind } from '../model/sampler.js';
import type { RunFolderOptions } from './run/folder.js';
import type { DataParallelRank, DistributedOptions, RescaleBatch } from './distributed/types.js';

export interface TrainOptions extends RunFolderOptions {
  data?: string;
  /** The model: AGAVE (default), or a baseline: PixelCNN++ alone, the IAF-VAE alone (model/agave.ts). */
  kind?: ModelKind;
  config: ConfigName;
  aux: AuxVariant;
  levels?: number;
  /** Recipe entries: undefined takes the config's recipe (model/config.ts). */
  lambda?: number;
  batch?: number;
  steps?: number;
  lr?: number;
  seed: number;
  out: string;
  evalEvery: number;
  evalImages: number;
  checkpointEvery: number;
  resume: boolean;
  vaePretrain: number;
  pixelcnnPretrain: number;
  dropAuxAt?: number;
  /** One EMA decay for every parameter (default: the recipe's, 0.999 for the VAE and 0.9995 for the PixelCNN). */
  emaDecay?: number;
  /** Image side for the model (default: the config's); the data is pooled or padded to it, and bits/dim count its pixels. */
  imageSize?: number;
  /** Steps of the parallel pre-training phase (VAE and PixelCNN trained independently at once). */
  pretrain?: number;
  /** Initial aux log-scale: 'data' (from the init batch's residuals; default) or 'zero' (the IAF code's). */
  auxScaleInit?: 'data' | 'zero';
  /** PixelCNN reconstructions (autoregressive, given f(z) of test images) in the final grid: how many (0: none). */
  pixelcnnRecon?: number;
  dropout?: number;
  /** Stop (with a checkpoint) after this many minutes. */
  timeLimitMinutes?: number;
  logEvery: number;
  /** Use at most this many training images (e.g. the overfitting test). */
  trainImages?: number;
  /**
   * After training, draw this many samples of the model: AGAVE (z ~ prior, PixelCNN run autoregressively on
   * f(z)), PixelCNN++ (unconditional, autoregressive) or the VAE (z ~ prior; the decoder mean and a draw of x).
   */
  agaveSamples?: number;
  /** The autoregressive PixelCNN sampler: 'cached' (default) or 'naive' (a full pass per pixel; the reference). */
  sampler?: SamplerKind;
  /** Importance samples for the final evaluation's IWAE bound (docs/MODEL.md §4; the paper used 150). */
  iwSamples?: number;
  /** Kernel choices by measurement (Engine's `tune`): the CLI's default 'on'; absent: 'off'. Not part of the run signature: it changes speed, not what is computed beyond float rounding. */
  tune?: TuneMode;
  /** The tuning cache folder (default: the engine's, $XDG_CACHE_HOME/agave-webgpu). */
  tuneCache?: string;
  /** Seconds the start-of-run tuning may take (default TUNE_BUDGET_MS / 1000). */
  tuneBudgetSeconds?: number;
  /** 'mixed': matmuls and convs hold their operands in f16, with dynamic loss scaling (train/step/loss-scale.ts). Default 'f32'. Part of the run signature. */
  precision?: 'f32' | 'mixed';
  /** `--distributed mpi`: data-parallel training over MPI ranks (train/distributed/, docs/DISTRIBUTED.md). */
  distributed?: DistributedOptions;
  /** This process's rank of a data-parallel run (set by the CLI after MPI started; `batch` is per rank). */
  dataParallel?: DataParallelRank;
  /** A resume on another number of ranks than the checkpoint's: keep the global batch, or the per-rank batch. */
  rescaleBatch?: RescaleBatch;
}

export interface StepRecord {
  step: number;
  phase: Phase;
  loss: number;
  pixelcnn: number | null;
  /** The VAE decoder's NLL (bits/dim of y; of x for the 'vae' kind); null for the 'pixelcnn' kind. */
  aux: number | null;
  kl: number;
  klObjective: number;
  imagesPerSecond: number;
}

export interface EvalRecord {
  step: number;
  testBitsPerDim: number;
  /** Importance-weighted bound with K samples (final evaluation, when iwSamples > 1). */
  iwBitsPerDim?: number;
  iwSamples?: number;
  /** The PixelCNN's -log p(x|z) (null for the 'vae' kind, whose -log p(x|z) is `aux`). */
  pixelcnn: number | null;
  kl: number;
  /** The VAE decoder's NLL of y (of x for the 'vae' kind); null for the 'pixelcnn' kind. */
  aux: number | null;
  /** PSNR (dB) of the VAE reconstruction f(z) against the auxiliary target y, in 0..255 pixel units (null: no VAE). */
  psnr: number | null;
  /** Latent channels whose KL per image exceeds the free-bits floor (activeThreshold), of latentChannels (all layers). */
  activeLatents: number;
  latentChannels: number;
  /** KL per latent channel in nats per image (layer by layer), for other thresholds than activeLatents'. */
  klPerChannel?: number[];
  images: number;
}

export interface TrainResult {
  steps: StepRecord[];
  evals: EvalRecord[];
  stoppedEarly: 'nan' | 'time' | 'signal' | null;
  parameterCount: number;
}

export type Logger = (line: string) => void;
