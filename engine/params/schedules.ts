// Learning-rate schedules: functions of the optimizer's step count (0 at its first step), given as an
// optimizer's `lr` (params/optimizers.ts evaluates them at the set's step count, which checkpoints keep, so a
// resumed run continues the schedule). Plain functions: a schedule of your own is any (step) => number.

/** Checks a schedule's settings; every error names the schedule and the setting. */
function need(ok: boolean, what: string, message: string): void {
  if (!ok) throw new Error(`${what}: ${message}`);
}

/** lr at every step. */
export function constantLr(lr: number): (step: number) => number {
  need(Number.isFinite(lr) && lr >= 0, 'constantLr', `lr must be a finite number >= 0, got ${lr}`);
  return () => lr;
}

export interface StepLrOptions {
  lr: number;
  /** Multiply by gamma every `every` steps (PyTorch's StepLR step_size). */
  every: number;
  /** Default 0.1. */
  gamma?: number;
}

/** lr * gamma^floor(step / every) (PyTorch's StepLR). */
export function stepLr(o: StepLrOptions): (step: number) => number {
  const gamma = o.gamma ?? 0.1;
  need(Number.isFinite(o.lr) && o.lr >= 0, 'stepLr', `lr must be a finite number >= 0, got ${o.lr}`);
  need(Number.isInteger(o.every) && o.every >= 1, 'stepLr', `every must be a positive integer, got ${o.every}`);
  need(Number.isFinite(gamma) && gamma >= 0, 'stepLr', `gamma must be a finite number >= 0, got ${gamma}`);
  return (step) => o.lr * gamma ** Math.floor(step / o.every);
}

export interface CosineLrOptions {
  /** The peak learning rate (reached at the end of the warm-up). */
  lr: number;
  /** Steps of the schedule: the cosine reaches `min` at step `total` and stays there. */
  total: number;
  /** Linear warm-up steps (default 0): lr * (step + 1) / warmup for step < warmup. */
  warmup?: number;
  /** The final learning rate (default 0). */
  min?: number;
}

/**
 * Linear warm-up to lr over `warmup` steps (lr * (step + 1) / warmup, so the first step already moves), then
 * cosine decay: min + (lr - min) (1 + cos(pi (step - warmup) / (total - warmup))) / 2, and min from `total` on.
 */
export function cosineLr(o: CosineLrOptions): (step: number) => number {
  const warmup = o.warmup ?? 0;
  const min = o.min ?? 0;
  need(Number.isFinite(o.lr) && o.lr >= 0, 'cosineLr', `lr must be a finite number >= 0, got ${o.lr}`);
  need(Number.isFinite(min) && min >= 0 && min <= o.lr, 'cosineLr', `min must be in [0, lr], got ${min}`);
  need(Number.isInteger(warmup) && warmup >= 0, 'cosineLr', `warmup must be a non-negative integer, got ${warmup}`);
  need(Number.isInteger(o.total) && o.total > warmup, 'cosineLr', `total must be an integer above warmup (${warmup}), got ${o.total}`);
  return (step) => {
    if (step < warmup) return (o.lr * (step + 1)) / warmup;
    if (step >= o.total) return min;
    return min + ((o.lr - min) * (1 + Math.cos((Math.PI * (step - warmup)) / (o.total - warmup)))) / 2;
  };
}
