// `node train.js`: train and evaluate AGAVE from the command line. Flags: train/options.ts; the loop:
// train/trainer.ts; the run folder (ownership, lock, leftovers): train/run/folder.ts; Ctrl-C: train/run/signals.ts.
// Exit codes:
//   0    done (or stopped at the time limit with a checkpoint, or nothing to do)
//   1    bad input or failure (a bad flag, a refused run folder, bad data, no WebGPU adapter, ...)
//   3    stopped on a non-finite loss or model state (the last good, finite checkpoint is kept)
//   130  stopped by SIGINT (Ctrl-C): the current step was finished and a checkpoint written (a second SIGINT
//        exits at once, also with 130, keeping the last checkpoint)
//   143  the same for SIGTERM
import { Engine } from '../engine/index.js';
import { HELP, parseOptions } from './options.js';
import { continueCommand, installGracefulStop, signalExitCode } from './run/signals.js';
import { train } from './trainer.js';
import { runExperiment } from './experiments/index.js';
import { DataParallel } from './distributed/data-parallel.js';
import { rescaledBatch } from './distributed/rescale.js';

async function main(): Promise<number> {
  if (process.argv[2] === 'experiment') {
    const stop = installGracefulStop();
    try {
      return await runExperiment(process.argv.slice(3), console.log, stop);
    } catch (e) {
      console.error(`train.js experiment: ${(e as Error).message}`);
      return 1;
    } finally {
      stop.dispose();
    }
  }
  let o: ReturnType<typeof parseOptions>;
  try {
    o = parseOptions(process.argv.slice(2));
  } catch (e) {
    console.error(`train.js: ${(e as Error).message}`);
    return 1;
  }
  if (o === 'help') {
    console.log(HELP);
    return 0;
  }
  if (o === 'check-gpu') {
    try {
      const engine = await Engine.create();
      console.log(`WebGPU adapter: ${engine.description}; features: ${JSON.stringify(engine.features)}`);
      engine.dispose();
      return 0;
    } catch (e) {
      console.error(`train.js: ${(e as Error).message}`);
      return 1;
    }
  }
  // A data-parallel rank also stops gracefully on SIGUSR1, which mpirun forwards to every rank (its Ctrl-C
  // kills them instead: docs/DISTRIBUTED.md).
  const stop = installGracefulStop(undefined, undefined, o.distributed ? ['SIGINT', 'SIGTERM', 'SIGUSR1'] : undefined);
  // --distributed mpi: this process is one rank (train/distributed/); rank 0 alone logs and writes.
  let dp: DataParallel | null = null;
  try {
    if (o.distributed) {
      dp = await DataParallel.start(o.distributed, console.log);
      o = await dp.prepare(o);
    } else {
      const batch = rescaledBatch(o, 1);
      if (batch !== undefined) o = { ...o, batch };
    }
    const quiet = dp !== null && !dp.writes;
    const r = await train({ ...o, stopSignal: dp ? dp.agreedStop(stop) : stop, ...(dp ? { dataParallel: dp } : {}) }, quiet ? () => {} : console.log);
    dp?.finish();
    if (r.stoppedEarly === 'nan') return 3;
    if (stop.requested || r.stoppedEarly === 'signal') {
      if (!quiet) console.error(`to continue: ${dp ? `mpirun -np ${dp.size} ` : ''}${continueCommand(process.argv.slice(2), o.out)}`);
      return signalExitCode(stop.signal);
    }
    return 0;
  } catch (e) {
    console.error(`train.js${dp ? ` (rank ${dp.rank})` : ''}: ${(e as Error).message}`);
    // One rank failing must not leave the others waiting in a collective: end the whole job.
    if (dp) dp.abort(1);
    return 1;
  } finally {
    stop.dispose();
  }
}

process.exitCode = await main();
