// The recipe as numbers, read from what a run actually does (train/step/setup.ts's Run stepped by train/step/loop.ts's
// trainSteps, tiny config, the config's default recipe): the EMA decay of a step, per parameter group (PixelCNN
// 0.9995, VAE 0.999) with TF's warm-up min(decay, (1 + step) / (10 + step)), measured from the EMA before and
// after one step at steps 0, 5 and 1,000,000; the learning rate and lambda each phase trains with, for AGAVE and
// the baselines; and the run's own checkpoint writer refusing a non-finite state when the loop's check (which
// stops a run before it saves) is bypassed. Why: every training test sets one --ema for both groups and the loop's
// check hides the writer's, so a swapped decay, a lost warm-up or a writer that saves NaN passed them all.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { ParameterSet, type LearningRate } from '../../engine/index.js';
import { Agave, type LossOptions } from '../../model/agave.js';
import { CONFIGS } from '../../model/config.js';
import { loadCheckpoint, NonFiniteCheckpointError } from '../../train/run/checkpoint-file.js';
import { trainSteps } from '../../train/step/loop.js';
import { setupRun, type Run } from '../../train/step/setup.js';
import type { TrainOptions, TrainResult } from '../../train/trainer.js';

const quiet = (): void => {};
const RECIPE = CONFIGS.tiny.recipe;

/** The tiny config with its default recipe: no --lr, --lambda, --ema or --batch. */
function opts(extra: Partial<TrainOptions> = {}): TrainOptions {
  return {
    config: 'tiny',
    aux: 'identity',
    seed: 7,
    out: mkdtempSync(join(tmpdir(), 'agave-recipe-')),
    evalEvery: 1_000_000,
    evalImages: 8,
    checkpointEvery: 1_000_000,
    resume: false,
    vaePretrain: 0,
    pixelcnnPretrain: 0,
    logEvery: 1_000_000,
    ...extra,
  };
}

/** Runs the loop over steps [from, to) of an open run (0-based step indices, as the loop's warm-up counts them). */
async function stepRange(run: Run, from: number, to: number): Promise<TrainResult> {
  run.startStep = from;
  run.recipe.steps = to;
  const result: TrainResult = { steps: [], evals: [], stoppedEarly: null, parameterCount: run.params.count };
  await trainSteps(run, result, quiet);
  expect(result.steps.map((s) => s.step), 'steps done').toEqual(Array.from({ length: to - from }, (_, i) => from + i + 1));
  return result;
}

/** Packed-array offset and length of every parameter (ParameterSet.serialize packs them in order). */
function layout(ck: { names: string[]; shapes: number[][] }): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>();
  let k = 0;
  ck.names.forEach((name, i) => {
    const n = ck.shapes[i]!.reduce((a, b) => a * b, 1);
    out.set(name, [k, n]);
    k += n;
  });
  return out;
}

describe('the recipe as a run uses it (tiny config, default recipe)', () => {
  it('the EMA of one step: decay min((1 + s) / (10 + s), 0.9995) for every PixelCNN tensor and min(.., 0.999) for every VAE tensor, at steps 0, 5 and 1,000,000', async () => {
    const run = await setupRun(opts(), quiet);
    try {
      expect(run.recipe.ema, 'the resolved EMA decays').toEqual({ vae: RECIPE.ema.vae, pixelcnn: RECIPE.ema.pixelcnn });
      for (const s of [0, 5, 1_000_000]) {
        // The EMA set half a unit below the parameters: (1 - decay) then moves it by a measurable amount.
        const before = await run.params.serialize();
        const emaBefore = Float32Array.from(before.params, (v) => v - 0.5);
        run.params.load({ ...before, ema: emaBefore });
        await stepRange(run, s, s + 1);
        const after = await run.params.serialize();
        const cap = (1 + s) / (10 + s);
        const failures: string[] = [];
        const seen = { vae: 0, pixelcnn: 0 };
        for (const [name, [off, n]] of layout(after)) {
          const group = Agave.partOf(name);
          const decay = Math.min(cap, RECIPE.ema[group]);
          // ema_after - p_after = decay (ema_before - p_after): the decay by least squares over the tensor, and
          // every element against the update with the expected decay.
          let num = 0;
          let den = 0;
          let worst = 0;
          for (let i = off; i < off + n; i++) {
            const p = after.params[i]!;
            const e0 = emaBefore[i]! - p;
            num += (after.ema![i]! - p) * e0;
            den += e0 * e0;
            const want = decay * emaBefore[i]! + (1 - decay) * p;
            worst = Math.max(worst, Math.abs(after.ema![i]! - want) / Math.max(1, Math.abs(want)));
          }
          const measured = num / den;
          if (!(Math.abs(measured - decay) < 2e-6 && worst < 1e-6)) failures.push(`${name} (${group}): decay ${measured.toFixed(7)}, expected ${decay.toFixed(7)}; worst element error ${worst.toExponential(2)}`);
          seen[group]++;
        }
        console.log(`EMA after the step at s = ${s}: warm-up cap ${cap.toFixed(6)}, decays ${Math.min(cap, RECIPE.ema.pixelcnn).toFixed(6)} (PixelCNN, ${seen.pixelcnn} tensors) / ${Math.min(cap, RECIPE.ema.vae).toFixed(6)} (VAE, ${seen.vae} tensors)`);
        expect(seen.vae * seen.pixelcnn, 'tensors of both groups').toBeGreaterThan(0);
        expect(failures, `EMA of the step at s = ${s} (${failures.length} tensors off)`).toEqual([]);
      }
    } finally {
      run.dispose();
    }
  });

  it('the learning rate and lambda each phase trains with: AGAVE through VAE-only, PixelCNN-only, parallel and joint steps; the baselines', async () => {
    const losses = vi.spyOn(Agave.prototype, 'loss');
    const updates = vi.spyOn(ParameterSet.prototype, 'adamaxStep');
    try {
      const seen = async (o: TrainOptions, steps: number): Promise<{ phase: string; lambda: number; useAux: boolean; lr: LearningRate | undefined }[]> => {
        const run = await setupRun(o, quiet);
        try {
          losses.mockClear();
          updates.mockClear();
          await stepRange(run, 0, steps);
          // The training passes (the evaluation's passes are not training ones).
          const train = losses.mock.calls.filter(([ctx]) => ctx.training).map(([, , opt]) => opt as LossOptions);
          expect(updates.mock.calls.length, 'one Adamax update per step').toBe(steps);
          return train.map((opt, i) => ({ phase: opt.phase, lambda: opt.lambda, useAux: opt.useAux, lr: updates.mock.calls[i]?.[0]?.lr }));
        } finally {
          run.dispose();
        }
      };
      const agave = await seen(opts({ vaePretrain: 1, pixelcnnPretrain: 1, pretrain: 1 }), 4);
      expect(agave).toEqual(['vae', 'pixelcnn', 'parallel', 'joint'].map((phase) => ({ phase, lambda: RECIPE.lambda, useAux: true, lr: RECIPE.lr })));
      // Flags override the recipe, in every phase.
      const flagged = await seen(opts({ pretrain: 1, lr: 0.01, lambda: 5 }), 2);
      expect(flagged).toEqual(['parallel', 'joint'].map((phase) => ({ phase, lambda: 5, useAux: true, lr: 0.01 })));
      // The IAF-VAE alone trains on its ELBO (lambda 1, not AGAVE's); PixelCNN++ alone on its NLL.
      expect(await seen(opts({ kind: 'vae' }), 1)).toEqual([{ phase: 'vae', lambda: 1, useAux: true, lr: RECIPE.lr }]);
      const pixelcnn = await seen(opts({ kind: 'pixelcnn' }), 1);
      expect(pixelcnn.map((p) => [p.phase, p.lr])).toEqual([['pixelcnn', RECIPE.lr]]);
    } finally {
      losses.mockRestore();
      updates.mockRestore();
    }
  });

  it("the run's checkpoint writer refuses a non-finite state by itself (the loop's check bypassed): nothing written, the previous checkpoint kept", async () => {
    const run = await setupRun(opts(), quiet);
    try {
      await run.save(0);
      expect(loadCheckpoint<{ step: number }>(run.paths.checkpoint).meta.step).toBe(0);
      // A NaN in one PixelCNN parameter, as an overflowing update would leave it, saved without the loop.
      const p = run.params.get('pcnn.head.b');
      run.engine.write(p, new Float32Array(p.size).fill(Number.NaN));
      await expect(run.save(1)).rejects.toThrow(NonFiniteCheckpointError);
      await expect(run.save(1)).rejects.toThrow(/not writing .*checkpoint\.agave: array 'params' holds NaN at element \d+; the previous checkpoint at .* is kept unchanged/);
      expect(loadCheckpoint<{ step: number }>(run.paths.checkpoint).meta.step, 'the step-0 checkpoint is kept').toBe(0);
      expect(existsSync(`${run.paths.checkpoint}.tmp-${process.pid}`)).toBe(false);
    } finally {
      run.dispose();
    }
  });
});
