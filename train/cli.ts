// `node train.js`: train and evaluate AGAVE from the command line. Flags: train/options.ts; the loop:
// train/trainer.ts; the run folder (ownership, lock, leftovers): train/run-folder.ts; Ctrl-C: train/signals.ts.
// Exit codes:
//   0    done (or stopped at the time limit with a checkpoint, or nothing to do)
//   1    bad input or failure (a bad flag, a refused run folder, bad data, no WebGPU adapter, ...)
//   3    stopped on a non-finite loss or model state (the last good, finite checkpoint is kept)
//   130  stopped by SIGINT (Ctrl-C): the current step was finished and a checkpoint written (a second SIGINT
//        exits at once, also with 130, keeping the last checkpoint)
//   143  the same for SIGTERM
import { Engine } from '../engine/index.js';
import { HELP, parseOptions } from './options.js';
import { continueCommand, installGracefulStop, signalExitCode } from './signals.js';
import { train } from './trainer.js';
import { runExperiment } from './experiments/index.js';

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
  const stop = installGracefulStop();
  try {
    const r = await train({ ...o, stopSignal: stop });
    if (r.stoppedEarly === 'nan') return 3;
    if (stop.requested) {
      console.error(`to continue: ${continueCommand(process.argv.slice(2), o.out)}`);
      return signalExitCode(stop.signal);
    }
    return 0;
  } catch (e) {
    console.error(`train.js: ${(e as Error).message}`);
    return 1;
  } finally {
    stop.dispose();
  }
}

process.exitCode = await main();
