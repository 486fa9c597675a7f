// The training and evaluation job behind `node train.js` (the CLI only parses flags): setup (train/setup.ts:
// recipe, data, model, init or resume), the loop (train/loop.ts), evaluation and sampling
// (train/evaluate.ts). Everything that makes a run resumable lives in the checkpoint: parameters, EMA, Adamax
// state, step, data order and the run settings; noise streams are derived from (seed, step), so a resumed run
// repeats the uninterrupted one.
import { formatDuration } from './metrics.js';
import { setupRun, type Run } from './setup.js';
import { trainSteps } from './loop.js';
import { sampleModel } from './evaluate.js';
import { openRunFolder, StopRequested, type RunFolder } from './run-folder.js';
import type { Logger, TrainOptions, TrainResult } from './types.js';

export type { EvalRecord, Logger, StepRecord, TrainOptions, TrainResult } from './types.js';
import { nothingToDoMessage } from './safety.js';

export { fitImages, resolveRecipe } from './setup.js';
export { sampleModel } from './evaluate.js';

export async function train(o: TrainOptions, log: Logger = console.log): Promise<TrainResult> {
  // One run per folder, locked for the run's duration (train/run-folder.ts).
  const folder = openRunFolder(o, log);
  let run: Run;
  try {
    run = await setupRun({ ...o, out: folder.dir }, log);
  } catch (e) {
    // Nothing was written yet: no lock and no empty folder are left behind.
    folder.abandon();
    throw e;
  }
  try {
    return await trainInFolder(run, log, folder);
  } finally {
    run.dispose();
    folder.release();
  }
}

async function trainInFolder(run: Run, log: Logger, folder: RunFolder): Promise<TrainResult> {
  const o = run.o;
  const result: TrainResult = { steps: [], evals: [], stoppedEarly: null, parameterCount: run.params.count };
  const start = performance.now();
  // Trim metrics to the checkpoint's step and mark the run; nothing to do past --steps.
  folder.start(run.startStep, log);
  if (run.startStep >= run.r.steps && !o.agaveSamples) {
    log(nothingToDoMessage(run.startStep, run.r.steps, run.paths.checkpoint));
    return result;
  }
  const reached = await trainSteps(run, result, log);
  if (result.stoppedEarly === 'nan' || result.stoppedEarly === 'signal') return result;
  if (o.agaveSamples) {
    try {
      await sampleModel(run, log);
    } catch (e) {
      if (!(e instanceof StopRequested)) throw e;
      log(`${e.message}; training finished at step ${reached} (checkpoint ${run.paths.checkpoint})`);
      result.stoppedEarly = 'signal';
      return result;
    }
  }
  log(`done: ${reached} steps of ${run.r.steps} (${reached - run.startStep} in this session, ${formatDuration((performance.now() - start) / 1000)}); outputs in ${o.out}`);
  return result;
}
