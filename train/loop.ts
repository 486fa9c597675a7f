// The training loop of a run: one step = forward, backward, Adamax, EMA; a progress line every few steps;
// evaluation, curves.svg and checkpoints on their cadence; the NaN stop and the time limit.
import { existsSync } from 'node:fs';
import { ops } from '../engine/index.js';
import { Ctx } from '../model/agave.js';
import { gatherBatch } from './data.js';
import { evaluate } from './evaluate.js';
import { writeCurves } from './curves.js';
import { appendJsonl, bitsPerDim, formatDuration } from './metrics.js';
import { phaseAt, type Run } from './setup.js';
import type { Logger, StepRecord, TrainResult } from './trainer.js';
import { nonFiniteStateMessage } from './safety.js';

/** Noise streams of a step: far apart so a step's dropout/epsilon draws never collide with another step's. */
const STREAMS_PER_STEP = 1 << 16;

/** Runs steps startStep..r.steps (or until the time limit / a non-finite loss); returns the step reached. */
export async function trainSteps(run: Run, result: TrainResult, log: Logger): Promise<number> {
  const { o, r, engine, model, params, trainSet, cfg, paths } = run;
  const bpd = (nats: number): number => bitsPerDim(nats, model.dims);
  const start = performance.now();
  let windowStart = performance.now();
  let windowImages = 0;
  const deadline = o.timeLimitMinutes !== undefined && o.timeLimitMinutes > 0 ? start + o.timeLimitMinutes * 60_000 : Infinity;
  let step = run.startStep;
  while (step < r.steps) {
    const phase = phaseAt(o, r, step);
    const useAux = o.dropAuxAt === undefined || step < o.dropAuxAt;
    const idx = run.order.next(r.batch);
    const values = await engine.asyncScope(async () => {
      // Zeroed before the forward, so the weight norm lets weight gradients land in place (engine/weight_norm.ts).
      params.zeroGrad();
      const x = engine.tensor(gatherBatch(trainSet, idx), [r.batch, cfg.imageSize, cfg.imageSize, model.channels]);
      const ctx = new Ctx(engine, params, false, true, { p: cfg.pixelcnn.dropout, seed: o.seed }, step * STREAMS_PER_STEP);
      const t = model.loss(ctx, x, { lambda: r.lambda, phase, useAux });
      // One readback of all terms (kept: backward frees intermediates).
      // (Terms a model kind lacks are packed as the loss and reported as null.)
      const parts = [t.loss, t.pixelcnnNll ?? t.loss, t.auxNll ?? t.loss, t.klTrue, t.klObjective].map((p) => ops.reshape(p, [1]));
      const packed = engine.noGrad(() => ops.concat(parts, 0)).keep();
      engine.backward(t.loss);
      const v = await packed.read();
      packed.dispose();
      return v;
    });
    const [loss, pcnn, aux, kl, klObj] = [...values] as [number, number, number, number, number];
    if (![loss, pcnn, aux, kl, klObj].every(Number.isFinite)) {
      const what = [['loss', loss], ['pixelcnn', pcnn], ['aux', aux], ['kl', kl]].filter(([, v]) => !Number.isFinite(v as number)).map(([n]) => n).join(', ');
      log(`step ${step + 1}: non-finite ${what} (loss ${loss}); stopping. The last good checkpoint (${existsSync(paths.checkpoint) ? paths.checkpoint : 'none written yet'}) is kept unchanged.`);
      result.stoppedEarly = 'nan';
      return step;
    }
    params.adamaxStep({ lr: r.lr });
    // EMA warm-up as TF's ExponentialMovingAverage(num_updates): early averages are not dominated by the
    // initial weights; a function of the step, so resumed runs match.
    const cap = (1 + step) / (10 + step);
    params.emaUpdate((name) => run.emaDecayOf(name, cap));
    // Never save a non-finite model: parameters, EMA and Adamax state, one fused GPU check.
    const health = await params.nonFiniteCheck();
    if (!health.finite) {
      log(nonFiniteStateMessage(step + 1, health, existsSync(paths.checkpoint) ? paths.checkpoint : null));
      result.stoppedEarly = 'nan';
      return step;
    }
    step++;
    windowImages += r.batch;
    const now = performance.now();
    const rec: StepRecord = {
      step,
      phase,
      loss: bpd(loss),
      pixelcnn: model.hasPixelcnn && phase !== 'vae' ? bpd(pcnn) : null,
      aux: model.hasVae ? bitsPerDim(aux, model.auxDims) : null,
      kl: bpd(kl),
      klObjective: bpd(klObj),
      imagesPerSecond: windowImages / ((now - windowStart) / 1000),
    };
    result.steps.push(rec);
    appendJsonl(paths.metrics, { type: 'train', ...rec });
    const last = step === r.steps;
    if (step % o.logEvery === 0 || step === run.startStep + 1 || last) {
      const eta = ((now - start) / 1000 / (step - run.startStep)) * (r.steps - step);
      log(
        `step ${String(step).padStart(String(r.steps).length)}/${r.steps} [${phase}] loss ${rec.loss.toFixed(3)} bpd | ` +
          `pixelcnn ${rec.pixelcnn === null ? '  -  ' : rec.pixelcnn.toFixed(3)} aux ${rec.aux === null ? '  -  ' : rec.aux.toFixed(3)} kl ${rec.kl.toFixed(4)} (obj ${rec.klObjective.toFixed(4)}) | ` +
          `${rec.imagesPerSecond.toFixed(1)} img/s | ETA ${formatDuration(eta)}`,
      );
      windowStart = now;
      windowImages = 0;
    }
    const outOfTime = performance.now() > deadline && !last;
    if (step % o.evalEvery === 0 || last || outOfTime) {
      result.evals.push(await evaluate(run, step, log, { iw: last ? (o.iwSamples ?? 1) : 1, pixelcnnRecon: last || outOfTime ? (o.pixelcnnRecon ?? 0) : 0 }));
      writeCurves(paths.metrics, paths.curves, model.kind === 'agave' ? `${o.config} ${o.aux}, lambda ${r.lambda}` : `${o.config} ${model.kind === 'pixelcnn' ? 'PixelCNN++ alone' : `IAF-VAE alone, lambda ${r.lambda}`}`);
    }
    if (step % o.checkpointEvery === 0 || last || outOfTime) await run.save(step);
    if (outOfTime) {
      log(`time limit of ${o.timeLimitMinutes} min reached at step ${step}; checkpoint saved (continue with --resume)`);
      result.stoppedEarly = 'time';
      break;
    }
    // Graceful stop (SIGINT/SIGTERM via train/signals.ts): finish the step, checkpoint, stop.
    if (o.stopSignal?.requested) {
      if (!last && step % o.checkpointEvery !== 0) await run.save(step); // else just written
      log(`${o.stopSignal.signal ?? 'stop'} received: stopped after step ${step}; checkpoint ${paths.checkpoint} written (continue with --resume)`);
      result.stoppedEarly = 'signal';
      break;
    }
  }
  return step;
}
