// Setting up a run in Node (`node train.js`, its experiments and the tests): the data loaded from --data (or the
// bundled sample) and the run folder's files as the RunStore; the run itself is train/step/run.ts, the same
// code a page opens runs with (its exports are re-exported here).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadDataset } from '../data/datasets.js';
import { readCheckpointMeta } from '../run/checkpoint-file.js';
import { validateCheckpointMeta } from '../run/checkpoint-state.js';
import { CHECKPOINT_FILE } from '../run/folder.js';
import { NodeRunStore } from '../run/node-store.js';
import type { Logger, TrainOptions } from '../types.js';
import { openRun, optionsOfCheckpointMeta, type Run } from './run.js';

export * from './run.js';

/** Opens the run of `o` in Node: the data of `o.data`, the outputs in the run folder `o.out`. */
export async function setupRun(o: TrainOptions, log: Logger): Promise<Run> {
  return openRun(o, log, { data: loadDataset(o.data), store: new NodeRunStore(o.out) });
}

/**
 * The options that reopen the run whose checkpoint is in `dir` (its settings, from the checkpoint's run
 * signature), for tools that load finished runs: `setupRun({ ...optionsOfCheckpoint(dir), data })` resumes it
 * with the same settings (the data must be the run's: it is checked by fingerprint).
 */
export function optionsOfCheckpoint(dir: string): TrainOptions {
  const path = join(dir, CHECKPOINT_FILE);
  if (!existsSync(path)) throw new Error(`no checkpoint at ${path}`);
  const meta = validateCheckpointMeta(readCheckpointMeta(path), path); // the header only: the arrays are loaded by the resume
  return optionsOfCheckpointMeta(meta, path, dir);
}
