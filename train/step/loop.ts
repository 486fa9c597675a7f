// The training loop of a run: steps (train/step/step.ts: forward, backward, Adamax, EMA) pipelined two deep; a
// progress line every few steps; evaluation, curves.svg and checkpoints on their cadence; the NaN stop and the
// time limit. Its outputs go to the run's RunStore (a run folder in Node, a page's panels and auto-save).
import { ReadbackRing, type FinitenessReport } from '../../engine/index.js';
import { Ctx } from '../../model/agave.js';
import { gatherBatch } from '../data/image-sets.js';
import { evaluate } from '../evaluate/evaluate.js';
import { bitsPerDim, formatDuration } from '../common/units.js';
import type { Phase } from '../../model/agave.js';
import { phaseAt, type Run } from './run.js';
import { forwardBackward, update, type StepHooks, type StepModel } from './step.js';
import type { Logger, StepRecord, TrainResult } from '../types.js';
import { nonFiniteStateMessage } from '../run/safety.js';

/**
 * Noise streams of a step: far apart so a step's dropout/epsilon draws never collide with another step's. From step
 * 65,536 on they pass 2^32, which the kernels' two stream words hold (they never wrap).
 */
const STREAMS_PER_STEP = 1 << 16;

/**
 * Steps in flight: step N+1 is recorded and submitted before step N's values (loss terms and the state's
 * NaN/Inf flags, one readback) are awaited, so the CPU records while the GPU computes. Evaluations,
 * checkpoints and stops first wait for every step in flight.
 */
export const STEPS_IN_FLIGHT = 2;

/** A step recorded and submitted whose values are not yet checked. */
interface InFlight {
  /** The step number once done (1-based, as logged). */
  step: number;
  phase: Phase;
  values: Promise<Float32Array[]>;
  report(bits: Uint32Array): FinitenessReport;
}

/** The title of a run's curves: its config, auxiliary image and lambda, or which baseline it is. */
export function curvesTitle(run: Run): string {
  const { options: o, recipe: r, model } = run;
  return model.kind === 'agave' ? `${o.config} ${o.aux}, lambda ${r.lambda}` : `${o.config} ${model.kind === 'pixelcnn' ? 'PixelCNN++ alone' : `IAF-VAE alone, lambda ${r.lambda}`}`;
}

/** Runs steps startStep..r.steps (or until the time limit / a non-finite loss); returns the step reached. */
export async function trainSteps(run: Run, result: TrainResult, log: Logger): Promise<number> {
  const { options: o, recipe: r, config: cfg, engine, model, params, trainSet, paths, store } = run;
  // Data-parallel (train/distributed/data-parallel.ts): this rank's part of each global batch, the exchange
  // before the backward, the gradient average after it; only rank 0 writes.
  const dp = o.dataParallel;
  const writes = dp?.writes ?? true;
  const bpd = (nats: number): number => bitsPerDim(nats, model.dims);
  const start = performance.now();
  let windowStart = performance.now();
  let windowImages = 0;
  const deadline = o.timeLimitMinutes !== undefined && o.timeLimitMinutes > 0 ? start + o.timeLimitMinutes * 60_000 : Infinity;
  const ring = new ReadbackRing(engine, STEPS_IN_FLIGHT + 1);
  const inFlight: InFlight[] = [];
  const lastGood = (): string => (store.hasCheckpoint() ? paths.checkpoint : 'none written yet');

  /** Checks a step's values (loss terms, then the state after its update) and logs it; false: a NaN stop. */
  const settle = async (f: InFlight): Promise<boolean> => {
    const [terms, flags] = (await f.values) as [Float32Array, Float32Array];
    const [loss, pcnn, aux, kl, klObj] = [...terms] as [number, number, number, number, number];
    if (![loss, pcnn, aux, kl, klObj].every(Number.isFinite)) {
      const what = [['loss', loss], ['pixelcnn', pcnn], ['aux', aux], ['kl', kl]].filter(([, v]) => !Number.isFinite(v as number)).map(([n]) => n).join(', ');
      log(`step ${f.step}: non-finite ${what} (loss ${loss}); stopping. The last good checkpoint (${lastGood()}) is kept unchanged.`);
      result.stoppedEarly = 'nan';
      return false;
    }
    // Never save a non-finite model: parameters, EMA and Adamax state after the update, one fused GPU check.
    const health = f.report(new Uint32Array(flags.buffer, flags.byteOffset, 4));
    if (!health.finite) {
      log(nonFiniteStateMessage(f.step, health, store.hasCheckpoint() ? paths.checkpoint : null));
      result.stoppedEarly = 'nan';
      return false;
    }
    const step = f.step;
    windowImages += r.batch * (dp?.size ?? 1);
    const now = performance.now();
    const rec: StepRecord = {
      step,
      phase: f.phase,
      loss: bpd(loss),
      pixelcnn: model.hasPixelcnn && f.phase !== 'vae' ? bpd(pcnn) : null,
      aux: model.hasVae ? bitsPerDim(aux, model.auxDims) : null,
      kl: bpd(kl),
      klObjective: bpd(klObj),
      imagesPerSecond: windowImages / ((now - windowStart) / 1000),
    };
    result.steps.push(rec);
    if (writes) store.appendRecord({ type: 'train', ...rec });
    if (step % o.logEvery === 0 || step === run.startStep + 1 || step === r.steps) {
      const eta = ((now - start) / 1000 / (step - run.startStep)) * (r.steps - step);
      log(
        `step ${String(step).padStart(String(r.steps).length)}/${r.steps} [${f.phase}] loss ${rec.loss.toFixed(3)} bpd | ` +
          `pixelcnn ${rec.pixelcnn === null ? '  -  ' : rec.pixelcnn.toFixed(3)} aux ${rec.aux === null ? '  -  ' : rec.aux.toFixed(3)} kl ${rec.kl.toFixed(4)} (obj ${rec.klObjective.toFixed(4)}) | ` +
          `${rec.imagesPerSecond.toFixed(1)} img/s | ETA ${formatDuration(eta)}`,
      );
      windowStart = now;
      windowImages = 0;
    }
    return true;
  };
  /** Settle the oldest steps until at most `keep` are in flight; false: a NaN stop. */
  const settleUntil = async (keep: number): Promise<boolean> => {
    while (inFlight.length > keep) if (!(await settle(inFlight.shift()!))) return false;
    return true;
  };

  const lastChecked = (): number => result.steps.at(-1)?.step ?? run.startStep;

  const stepModel: StepModel = { params, model, lr: r.lr, lambda: r.lambda, emaDecayOf: run.emaDecayOf };
  let step = run.startStep;
  try {
    while (step < r.steps) {
      const phase = phaseAt(o, r, step);
      const useAux = o.dropAuxAt === undefined || step < o.dropAuxAt;
      const idx = dp ? dp.batchIndices(run.order, r.batch) : run.order.next(r.batch);
      const s = step;
      inFlight.push(await engine.asyncScope(async () => {
        const x = engine.tensor(gatherBatch(trainSet, idx), [r.batch, cfg.imageSize, cfg.imageSize, model.channels]);
        const ctx = new Ctx(engine, params, { seed: o.seed, streamBase: s * STREAMS_PER_STEP, training: true, ...(dp ? { batchOffset: dp.batchOffset(r.batch) } : {}) });
        const hooks: StepHooks = dp
          ? { beforeBackward: (t, packed) => dp.exchangeBeforeBackward(t, packed, { outOfTime: performance.now() > deadline }), afterBackward: () => dp.averageGradients(params, s + 1) }
          : {};
        const scaler = run.lossScaler;
        const scale = scaler?.scale ?? 1;
        const packed = await forwardBackward(stepModel, ctx, x, phase, useAux, hooks, scale);
        let apply = true;
        if (scaler) {
          // --precision mixed: the update waits for the gradients' overflow check (one readback per step: the
          // price of skipping overflowed steps; train/step/loss-scale.ts).
          const grads = await params.gradientStats();
          apply = scaler.update(grads.finite);
          if (!apply) log(`step ${s + 1}: gradients overflowed at loss scale ${scale} (${grads.nonFinite} non-finite values): update skipped, loss scale now ${scaler.scale} (${scaler.skipped} skipped so far)`);
        }
        // The update is recorded before the loss is known: a non-finite loss stops the run when its values come
        // back, before any evaluation or checkpoint of a later state (the state check below covers the update).
        if (apply) update(stepModel, s, 1 / scale);
        const check = params.recordNonFiniteCheck();
        const values = ring.read([packed, check.flags]);
        packed.dispose();
        check.flags.dispose();
        return { step: s + 1, phase, values, report: check.report };
      }));
      step++;
      // Step `step` runs on the GPU while the one before it is checked and logged.
      if (!(await settleUntil(STEPS_IN_FLIGHT - 1))) return lastChecked();
      const last = step === r.steps;
      // Data-parallel ranks act on what all of them agreed at the step's exchange (the same step everywhere;
      // their stopSignal is the agreed one: DataParallel.agreedStop).
      const outOfTime = (dp ? dp.agreed.outOfTime : performance.now() > deadline) && !last;
      const stop = o.stopSignal?.requested ?? false;
      const evalDue = step % o.evalEvery === 0 || last || outOfTime;
      const saveDue = step % o.checkpointEvery === 0 || last || outOfTime;
      if (!evalDue && !saveDue && !stop) continue;
      // The state on the GPU is the one after `step`: check every step in flight before using it.
      if (!(await settleUntil(0))) return lastChecked();
      if (evalDue) {
        const rec = await evaluate(run, step, log, { iw: last ? (o.iwSamples ?? 1) : 1, pixelcnnRecon: last || outOfTime ? (o.pixelcnnRecon ?? 0) : 0 });
        result.evals.push(rec);
        if (writes) store.writeCurves(curvesTitle(run));
        // A model whose evaluation is not finite is not worth a checkpoint, however finite its parameters are.
        const bad = [rec.testBitsPerDim, rec.iwBitsPerDim ?? 0].find((v) => !Number.isFinite(v));
        if (bad !== undefined) {
          log(`step ${step}: the evaluation gave a non-finite test bits/dim (${bad}); stopping without saving this state. The last good checkpoint (${lastGood()}) is kept unchanged.`);
          result.stoppedEarly = 'nan';
          return step;
        }
      }
      if (saveDue) await run.save(step);
      if (outOfTime) {
        log(`time limit of ${o.timeLimitMinutes} min reached at step ${step}; checkpoint saved (${o.resumeHint ?? 'continue with --resume'})`);
        result.stoppedEarly = 'time';
        break;
      }
      // Graceful stop (SIGINT/SIGTERM via train/run/signals.ts): finish the step, checkpoint, stop.
      if (o.stopSignal?.requested) {
        if (!saveDue) await run.save(step); // else just written
        log(`${o.stopSignal?.signal ?? 'stop'} received: stopped after step ${step}; checkpoint ${paths.checkpoint} written (${o.resumeHint ?? 'continue with --resume'})`);
        result.stoppedEarly = 'signal';
        break;
      }
    }
    return step;
  } finally {
    // After a NaN stop, steps still in flight are dropped unread (their values settle before the ring goes).
    await Promise.allSettled(inFlight.map((f) => f.values));
    ring.destroy();
  }
}
