// The training and evaluation job behind `node train.js` (the CLI only parses flags): setup (train/step/setup.ts:
// recipe, data, model, init or resume), the loop (train/step/loop.ts), evaluation and sampling
// (train/evaluate/evaluate.ts). Everything that makes a run resumable lives in the checkpoint: parameters, EMA, Adamax
// state, step, data order and the run settings; noise streams are derived from (seed, step), so a resumed run
// repeats the uninterrupted one.
import { formatDuration } from './run/metrics.js';
import { setupRun, type Run } from './step/setup.js';
import { trainSteps } from './step/loop.js';
import { sampleModel } from './evaluate/sampling.js';
import { openRunFolder, StopRequested, type RunFolder } from './run/folder.js';
import type { Logger, TrainOptions, TrainResult } from './types.js';

export type { EvalRecord, Logger, StepRecord, TrainOptions, TrainResult } from './types.js';
import { nothingToDoMessage } from './run/safety.js';

export { fitImages, resolveRecipe } from './step/setup.js';
export { sampleModel } from './evaluate/sampling.js';

export async function train(o: TrainOptions, log: Logger = console.log): Promise<TrainResult> {
  // Data-parallel ranks other than 0 write nothing: no run folder (train/distributed/data-parallel.ts).
  if (o.dataParallel && !o.dataParallel.writes) {
    const run = await setupRun(o, log);
    try {
      return await trainInFolder(run, log, null);
    } finally {
      run.dispose();
    }
  }
  // One run per folder, locked for the run's duration (train/run/folder.ts).
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

async function trainInFolder(run: Run, log: Logger, folder: RunFolder | null): Promise<TrainResult> {
  const o = run.options;
  // Data-parallel: rank 0's state, step and data order on every rank (train/distributed/data-parallel.ts).
  if (o.dataParallel) await o.dataParallel.attach(run);
  const result: TrainResult = { steps: [], evals: [], stoppedEarly: null, parameterCount: run.params.count };
  const start = performance.now();
  // Trim metrics to the checkpoint's step and mark the run; nothing to do past --steps.
  folder?.start(run.startStep, log);
  if (run.startStep >= run.recipe.steps && !o.agaveSamples) {
    log(nothingToDoMessage(run.startStep, run.recipe.steps, run.paths.checkpoint));
    return result;
  }
  const reached = await trainSteps(run, result, log);
  if (result.stoppedEarly === 'nan' || result.stoppedEarly === 'signal') return result;
  if (o.dataParallel) log(o.dataParallel.summary());
  if (o.agaveSamples && (o.dataParallel?.writes ?? true)) {
    try {
      await sampleModel(run, log);
    } catch (e) {
      if (!(e instanceof StopRequested)) throw e;
      log(`${e.message}; training finished at step ${reached} (checkpoint ${run.paths.checkpoint})`);
      result.stoppedEarly = 'signal';
      return result;
    }
  }
  log(`done: ${reached} steps of ${run.recipe.steps} (${reached - run.startStep} in this session, ${formatDuration((performance.now() - start) / 1000)}); outputs in ${o.out}`);
  return result;
}
