// What the training job asks of a data-parallel rank (train/distributed/data-parallel.ts implements it): the
// hooks train/step/setup.ts, train/step/loop.ts, train/evaluate/evaluate.ts and train/trainer.ts call, and the options of
// `--distributed mpi`. A module of types only, so that train/types.ts can name them without an import cycle.
import type { ParameterSet, Engine, Tensor } from '../../engine/index.js';
import type { LossTerms } from '../../model/agave.js';
import type { BatchOrder, ImageSet } from '../data/datasets.js';

/** `--distributed mpi` and its settings (train/options.ts). */
export interface DistributedOptions {
  backend: 'mpi';
  /** Verify every K steps (and before every checkpoint) that all ranks hold the same state. */
  checksumEvery: number;
  /** Seconds a collective may wait for the slowest rank before the job is ended naming it. */
  timeoutSeconds: number;
}

/** How a resume on another number of ranks rescales the batch (`--rescale-batch`). */
export type RescaleBatch = 'global' | 'per-rank';

/** The part of a run (train/step/setup.ts Run) a rank synchronises at start. */
export interface RankRun {
  engine: Engine;
  params: ParameterSet;
  trainSet: ImageSet;
  testSet: ImageSet;
  startStep: number;
  order: BatchOrder;
  save(step: number): Promise<void>;
}

/** One rank of a data-parallel run, as the training job sees it. */
export interface DataParallelRank {
  readonly rank: number;
  readonly size: number;
  /** Rank 0 writes metrics, figures and checkpoints; the others write nothing. */
  readonly writes: boolean;
  /** Agreed at each step's exchange: a stop asked on any rank, any rank past the time limit. */
  readonly agreed: { readonly stop: boolean; readonly outOfTime: boolean };
  /** This rank's images of the next global batch (the shared order's next size x perRank indices). */
  batchIndices(order: BatchOrder, perRank: number): Uint32Array;
  /** Images of the global batch before this rank's (the noise offset of Ctx). */
  batchOffset(perRank: number): number;
  /** After setup: rank 0's state on every rank; wraps run.save (checksum, then rank 0 writes). */
  attach(run: RankRun): Promise<void>;
  /** Before the backward: the step's loss terms, free-bits means and stop / time flags over the ranks. */
  exchangeBeforeBackward(t: LossTerms, packed: Tensor, local: { outOfTime: boolean }): Promise<void>;
  /** After the backward: the gradient arena averaged over the ranks. */
  averageGradients(params: ParameterSet, step: number): Promise<void>;
  /** A summary line for the end of the run. */
  summary(): string;
}
