// Dynamic loss scaling for --precision mixed: the matmul and conv kernels hold their operands in f16, whose
// smallest normal value is 6.1e-5, so small gradients (of the loss's cotangents deep in the network) would
// flush to zero. The backward starts from S instead of 1 (every gradient scaled by S), the gradients are checked
// for overflow (f16's largest value is 65504) and unscaled by 1/S before Adamax. A step whose gradients
// overflowed is skipped (no update, no EMA) and S halved; after GROWTH_INTERVAL good steps in a row S doubles.
// Adamax, its state, the master weights, the loss and the likelihoods stay f32.

export const INITIAL_LOSS_SCALE = 2 ** 12;
export const GROWTH_INTERVAL = 200;
const MAX_SCALE = 2 ** 24;
const MIN_SCALE = 1;

export interface LossScaleState {
  scale: number;
  goodSteps: number;
  skipped: number;
}

export class LossScaler {
  scale = INITIAL_LOSS_SCALE;
  private goodSteps = 0;
  /** Steps skipped so far (overflows). */
  skipped = 0;

  /** After a step's backward: true to apply its update; false when its gradients overflowed (skip it; S halves). */
  update(finite: boolean): boolean {
    if (!finite) {
      this.skipped++;
      this.goodSteps = 0;
      this.scale = Math.max(MIN_SCALE, this.scale / 2);
      return false;
    }
    if (++this.goodSteps >= GROWTH_INTERVAL) {
      this.goodSteps = 0;
      this.scale = Math.min(MAX_SCALE, this.scale * 2);
    }
    return true;
  }

  state(): LossScaleState {
    return { scale: this.scale, goodSteps: this.goodSteps, skipped: this.skipped };
  }

  restore(s: LossScaleState): void {
    if (!(Number.isFinite(s.scale) && s.scale >= MIN_SCALE && s.scale <= MAX_SCALE && Number.isInteger(s.goodSteps) && s.goodSteps >= 0 && Number.isInteger(s.skipped) && s.skipped >= 0)) {
      throw new Error(`the checkpoint's loss scale state is invalid: ${JSON.stringify(s)}`);
    }
    this.scale = s.scale;
    this.goodSteps = s.goodSteps;
    this.skipped = s.skipped;
  }
}
