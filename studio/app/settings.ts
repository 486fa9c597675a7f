// What the page's form sets, and the TrainOptions of `node train.js` it stands for: the same recipe entries
// (config, lambda, batch, learning rate, steps) and cadences (evaluation, checkpoint = auto-save), with the
// CLI's defaults for everything the page does not show.
import { CONFIGS, type ConfigName } from '../../model/config.js';
import type { DataFingerprint } from '../../train/data/fingerprint.js';
import type { StopSignal } from '../../train/run/stop.js';
import type { TrainOptions } from '../../train/types.js';

/** The configs the page trains: the CI-sized one, the default run's, and 32x32 where the device allows. */
export const STUDIO_CONFIGS = ['tiny', 'quick', 'small'] as const satisfies readonly ConfigName[];

/** The data a run trains on: the bundled CIFAR-10 sample, or files the user chose (by name and fingerprint). */
export type DataChoice = { kind: 'sample' } | { kind: 'files'; names: string[]; fingerprint: DataFingerprint };

export interface StudioSettings {
  config: ConfigName;
  lambda: number;
  batch: number;
  lr: number;
  steps: number;
  evalEvery: number;
  /** Auto-save (a checkpoint in IndexedDB) every this many steps; also at a pause and at the end. */
  autosaveEvery: number;
  seed: number;
  data: DataChoice;
}

/** The form's starting values: the config's recipe, the CLI's cadences (evaluation every 40 steps). */
export function defaultSettings(config: ConfigName = 'quick'): StudioSettings {
  const c = CONFIGS[config];
  return { config, lambda: c.recipe.lambda, batch: c.batch, lr: c.recipe.lr, steps: c.recipe.steps, evalEvery: 40, autosaveEvery: 20, seed: 1, data: { kind: 'sample' } };
}

/** Where a page's outputs are, in the log lines the shared code writes. */
export const PAGE_OUT = 'this page';

/**
 * The run options of the settings, as `node train.js --config C --lambda L --batch B --lr LR --steps N
 * --eval-every E --checkpoint-every A --seed S` would give them (96 evaluation images, PixelCNN reconstructions
 * in the final grid, a progress line every 10 steps, no time limit).
 */
export function trainOptionsOf(s: StudioSettings, resume: boolean, stopSignal: StopSignal): TrainOptions {
  return {
    config: s.config,
    aux: 'identity',
    seed: s.seed,
    out: PAGE_OUT,
    evalEvery: s.evalEvery,
    evalImages: 96,
    checkpointEvery: s.autosaveEvery,
    resume,
    vaePretrain: 0,
    pixelcnnPretrain: 0,
    pixelcnnRecon: 8,
    logEvery: 10,
    lambda: s.lambda,
    batch: s.batch,
    lr: s.lr,
    steps: s.steps,
    stopSignal,
    resumeHint: 'press Resume to continue',
  };
}

/** A form value checked as the CLI checks its flag (decimal, finite, in range); the error names the field. */
export function checkSetting(name: string, raw: string, opts: { integer: boolean; min: number; max?: number; above?: boolean }): number {
  const text = raw.trim();
  const v = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text) ? Number(text) : NaN;
  const range = `${opts.above ? '>' : '>='} ${opts.min}${opts.max !== undefined ? ` and <= ${opts.max}` : ''}`;
  if (!Number.isFinite(v) || (opts.integer && !Number.isInteger(v)) || (opts.above ? v <= opts.min : v < opts.min) || (opts.max !== undefined && v > opts.max)) {
    throw new Error(`${name} must be ${opts.integer ? 'a whole number' : 'a number'} ${range}, got '${raw}'`);
  }
  return v;
}
