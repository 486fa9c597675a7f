// One training step, the same code wherever a step runs: train/step/loop.ts (pipelined, with its data-parallel
// hooks) and bench/stepper.ts (timed; bench/compare.ts also bundles this file against an older commit's engine/
// and model/, so it uses only their long-standing APIs: Agave.loss, ParameterSet's adamaxStep, emaUpdate and
// zeroGrad, ops.reshape and ops.concat).
//   forwardBackward: zero the gradients (before the forward, so the weight norm lets weight gradients land in
//     place), forward, pack the loss terms for the step's one readback, backward (from the loss scale instead of
//     1 with --precision mixed);
//   update: the gradients unscaled (mixed precision), Adamax, then the EMA with its warm-up.
import { ops, type ParameterSet, type Tensor } from '../../engine/index.js';
import type { Agave, LossTerms, Ctx, Phase } from '../../model/agave.js';

/** What a step trains, and with what. */
export interface StepModel {
  params: ParameterSet;
  model: Agave;
  lr: number;
  lambda: number;
  /** The EMA decay of a parameter, capped by the warm-up (the VAE and the PixelCNN have their own). */
  emaDecayOf(name: string, cap: number): number;
}

/** Where a data-parallel run joins the step (train/distributed/data-parallel.ts). */
export interface StepHooks {
  /** After the forward, before the backward: exchange what the ranks must agree on. */
  beforeBackward?(terms: LossTerms, packed: Tensor): Promise<void>;
  /** After the backward, before the update: average the gradients. */
  afterBackward?(): Promise<void>;
}

/**
 * Zeroes the gradients, runs the forward of `x` in `ctx`, packs [loss, pixelcnn, aux, kl, klObjective] (a term a
 * model kind lacks is packed as the loss) into one kept tensor for the step's readback, and runs the backward.
 */
export async function forwardBackward(m: StepModel, ctx: Ctx, x: Tensor, phase: Phase, useAux: boolean, hooks: StepHooks = {}, lossScale = 1): Promise<Tensor> {
  m.params.zeroGrad();
  const t = m.model.loss(ctx, x, { lambda: m.lambda, phase, useAux });
  const parts = [t.loss, t.pixelcnnNll ?? t.loss, t.auxNll ?? t.loss, t.klTrue, t.klObjective].map((p) => ops.reshape(p, [1]));
  const packed = ctx.engine.noGrad(() => ops.concat(parts, 0)).keep();
  await hooks.beforeBackward?.(t, packed);
  ctx.engine.backward(t.loss, lossScale === 1 ? undefined : ctx.engine.full(t.loss.shape, lossScale));
  await hooks.afterBackward?.();
  return packed;
}

/**
 * The gradients multiplied by `unscale` (1 / the loss scale; 1: untouched), Adamax, then the EMA. The warm-up is TF's ExponentialMovingAverage(num_updates): decay min(d, (1 + s) / (10 + s))
 * at step s (0-based), so early averages are not dominated by the initial weights; a function of the step, so a
 * resumed run matches.
 */
export function update(m: StepModel, s: number, unscale = 1): void {
  if (unscale !== 1) for (const g of m.params.gradWindows) ops.scaleInPlace(g, unscale);
  m.params.adamaxStep({ lr: m.lr });
  const cap = (1 + s) / (10 + s);
  m.params.emaUpdate((name) => m.emaDecayOf(name, cap));
}
