// `node train.js`: train and evaluate AGAVE from the command line. Flags: train/options.ts; the loop:
// train/trainer.ts. Exit codes: 0 done (or stopped at the time limit with a checkpoint), 1 bad input or
// failure, 3 stopped on a non-finite loss (the last good checkpoint is kept).
import { Engine } from '../engine/index.js';
import { HELP, parseOptions } from './options.js';
import { train } from './trainer.js';
import { runExperiment } from './experiments.js';

async function main(): Promise<number> {
  if (process.argv[2] === 'experiment') {
    try {
      return await runExperiment(process.argv.slice(3));
    } catch (e) {
      console.error(`train.js experiment: ${(e as Error).message}`);
      return 1;
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
    const engine = await Engine.create();
    console.log(`WebGPU adapter: ${engine.description}; features: ${JSON.stringify(engine.features)}`);
    engine.dispose();
    return 0;
  }
  try {
    const r = await train(o);
    return r.stoppedEarly === 'nan' ? 3 : 0;
  } catch (e) {
    console.error(`train.js: ${(e as Error).message}`);
    return 1;
  }
}

process.exitCode = await main();
