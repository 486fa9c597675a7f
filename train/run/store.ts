// Where a run's outputs go, on any platform: the small interface between the training job (setup, loop,
// evaluation and sampling, train/step/ and train/evaluate/) and what is Node-only or page-only. Node's run
// folder (train/run/node-store.ts: checkpoint.agave, metrics.jsonl, curves.svg, PNG grids) implements it, and so
// does a page (studio/: an IndexedDB auto-save, a live chart, canvases); the job itself is the same code.
import type { Checkpoint } from './checkpoint-format.js';
import type { MetricsRecord } from '../figures/curve-panels.js';
import type { ImageRows } from '../evaluate/rows.js';

/** Where each output goes, for messages: file paths in Node, descriptions in a page. */
export interface RunPaths {
  out: string;
  checkpoint: string;
  metrics: string;
  curves: string;
}

export interface RunStore {
  readonly paths: RunPaths;
  /** Whether a checkpoint of this run has been written (a stop then names it as the last good one). */
  hasCheckpoint(): boolean;
  /** The checkpoint a resume continues from (decoded and CRC-checked; validated by the caller), or null when there is none. */
  readCheckpoint(): Promise<Checkpoint<unknown> | null>;
  /**
   * Writes the run's checkpoint. Never a non-finite one: an array holding NaN or Inf is refused with
   * NonFiniteCheckpointError before anything is written, and the previous checkpoint is kept.
   */
  saveCheckpoint(ckpt: Checkpoint<unknown>): Promise<void>;
  /** Appends a record of a step or an evaluation (metrics.jsonl). */
  appendRecord(record: MetricsRecord): void;
  /** Redraws the training curves from the records so far (curves.svg; train/figures/curve-panels.ts). */
  writeCurves(title: string): void;
  /** Where labelled rows named `name` go (a grid, samples: samples-step000040 -> OUT/samples-step000040.png), for messages. */
  rowsPath(name: string): string;
  /**
   * Writes labelled rows of images named `name`; with `jsonName` the rows are also kept as data under that name
   * (grid-latest.json, agave-samples.json: experiments compose figures from them).
   */
  writeImageRows(name: string, rows: ImageRows, jsonName?: string): void;
  /** Progress of a long task (autoregressive sampling: `done` of `total` rows); optional. */
  progress?(what: string, done: number, total: number): void;
}
