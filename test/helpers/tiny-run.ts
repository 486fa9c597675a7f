// The options of a tiny training run that the train/ tests start from: the tiny config on the bundled sample,
// batch 4, seed 3, no evaluation or checkpoint on a cadence (every 1000 steps), EMA 0.99, a log line per step.
// Each test adds what it is about (steps, lambda, learning rate, its own seed...).
import type { TrainOptions } from '../../train/types.js';

export function tinyRunOptions(out: string, extra: Partial<TrainOptions> = {}): TrainOptions {
  return {
    config: 'tiny', aux: 'identity', seed: 3, out, evalEvery: 1000, evalImages: 8, checkpointEvery: 1000, resume: false,
    vaePretrain: 0, pixelcnnPretrain: 0, emaDecay: 0.99, logEvery: 1, batch: 4, ...extra,
  };
}
