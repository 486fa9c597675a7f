// One run in the page, driven by the same code as `node train.js`: openRun (train/step/run.ts) sets it up from
// the page's settings, a checkpoint file or the auto-save; trainSteps (train/step/loop.ts) trains it with its
// evaluations, curves and checkpoints (into the BrowserRunStore); modelSamples, interpolateLatents and
// samplePixelcnn (train/evaluate/sampling.ts) draw from it. This file only adds what a page needs around them:
// Pause / Resume (the loop's stop signal, then the loop again from the step reached), Save (the state's
// checkpoint bytes), a lost device (resume from the last checkpoint) and sampling between training stretches.
import { Ctx } from '../../model/agave.js';
import type { Dataset } from '../../train/data/image-sets.js';
import { describeData, dataFingerprint, sameData } from '../../train/data/fingerprint.js';
import { auxToDisplay, type ImageRow, type ImageRows } from '../../train/evaluate/rows.js';
import { interpolateLatents, modelSamples, samplePixelcnn, type LatentPath } from '../../train/evaluate/sampling.js';
import { decodeCheckpoint, type Checkpoint } from '../../train/run/checkpoint-format.js';
import { validateRunCheckpoint, type CheckpointMeta } from '../../train/run/checkpoint-state.js';
import type { StopSignal } from '../../train/run/stop.js';
import { curvesTitle, trainSteps } from '../../train/step/loop.js';
import { openRun, optionsOfCheckpointMeta, type Run } from '../../train/step/run.js';
import type { TrainOptions, TrainResult } from '../../train/types.js';
import type { AutoSaveDb } from './autosave.js';
import { AUTOSAVE_NAME, BrowserRunStore, type ResumePoint, type StoreView } from './browser-store.js';
import { PAGE_OUT, trainOptionsOf, type DataChoice, type StudioSettings } from './settings.js';

/** idle: no run; training; pausing (the current step finishes, then a checkpoint); paused (or opened); done (all steps); lost (the device); failed. */
export type Phase = 'idle' | 'opening' | 'training' | 'pausing' | 'paused' | 'done' | 'lost' | 'failed';

export interface SessionView extends StoreView {
  log(line: string): void;
  phase(phase: Phase, detail: string): void;
}

/** A checkpoint the user opened: checked as `--resume` checks one, with the options that reopen its run. */
export interface OpenedCheckpoint {
  name: string;
  bytes: Uint8Array;
  checkpoint: Checkpoint<CheckpointMeta>;
  options: TrainOptions;
}

/** Decodes and validates a checkpoint file's bytes with the CLI's checks and messages (CheckpointError, InvalidCheckpointError). */
export function readCheckpointFile(name: string, bytes: Uint8Array): OpenedCheckpoint {
  const checkpoint = validateRunCheckpoint(decodeCheckpoint(bytes, name), name);
  return { name, bytes, checkpoint, options: optionsOfCheckpointMeta(checkpoint.meta, name, PAGE_OUT) };
}

/** The page's settings for a checkpoint's run (its recipe; the page's cadences and data). */
export function settingsOfCheckpoint(o: TrainOptions, cadence: Pick<StudioSettings, 'evalEvery' | 'autosaveEvery' | 'steps'>, data: DataChoice): StudioSettings {
  return {
    config: o.config,
    lambda: o.lambda ?? 1,
    batch: o.batch!,
    lr: o.lr!,
    steps: Math.max(cadence.steps, o.steps ?? 0),
    evalEvery: cadence.evalEvery,
    autosaveEvery: cadence.autosaveEvery,
    seed: o.seed,
    data,
  };
}

/** A checkpoint's run options (optionsOfCheckpointMeta) with the page's cadences and steps. */
function pageOptions(o: TrainOptions, s: StudioSettings): TrainOptions {
  return { ...o, evalEvery: s.evalEvery, checkpointEvery: s.autosaveEvery, evalImages: 96, logEvery: 10, pixelcnnRecon: 8, steps: s.steps };
}

export class Session {
  run: Run | null = null;
  store: BrowserRunStore | null = null;
  phase: Phase = 'idle';
  /** Opened with data other than its own (by fingerprint): it can be sampled but not trained further. */
  sampleOnly: string | null = null;
  settings: StudioSettings | null = null;
  data: Dataset | null = null;
  /** The current latent interpolation (its f(z_t) kept for PixelCNN samples along it). */
  path: { a: number; b: number; steps: number; value: LatentPath; rows: ImageRows } | null = null;
  private stop: StopSignal = { requested: false };
  private result: TrainResult = { steps: [], evals: [], stoppedEarly: null, parameterCount: 0 };
  private training: Promise<void> | null = null;
  private lost: GPUDeviceLostInfo | null = null;
  private closing = false;
  private draws = 0;

  constructor(private readonly db: AutoSaveDb | null, private readonly dbUnavailable: string, private readonly view: SessionView) {}

  private readonly log = (line: string): void => this.view.log(line);

  private setPhase(phase: Phase, detail = ''): void {
    this.phase = phase;
    this.view.phase(phase, detail);
  }

  /** Opens a run (fresh, or from `point`) with `settings` on `data`, replacing the current one. */
  private async open(settings: StudioSettings, data: Dataset, point: ResumePoint | null, otherData: 'refuse' | 'allow', options?: TrainOptions): Promise<Run> {
    await this.close();
    this.setPhase('opening', point ? `opening the run at step ${point.step}` : 'setting up a new run');
    this.stop = { requested: false, signal: 'Pause' };
    this.settings = settings;
    this.data = data;
    const store = new BrowserRunStore(this.db, this.view, (step) => ({ settings, running: !this.stop.requested && step < (this.run?.recipe.steps ?? Infinity) }), point, this.dbUnavailable);
    const o: TrainOptions = options ? { ...options, stopSignal: this.stop, resumeHint: 'press Resume to continue' } : trainOptionsOf(settings, point !== null, this.stop);
    try {
      const run = await openRun(o, this.log, { data, store, otherData });
      this.run = run;
      this.store = store;
      store.title = curvesTitle(run);
      this.result = { steps: [], evals: [], stoppedEarly: null, parameterCount: run.params.count };
      this.lost = null;
      this.closing = false;
      void run.engine.device.lost.then((info) => {
        if (this.closing || this.run !== run) return;
        this.lost = info;
        this.log(`the GPU device was lost (${info.reason}: ${info.message || 'no message'})`);
        if (this.phase !== 'training' && this.phase !== 'pausing') this.setPhase('lost', this.lostDetail());
      });
      if (point) for (const r of store.records) this.view.record(r);
      this.view.curves(store.curves());
      return run;
    } catch (e) {
      this.setPhase('failed', e instanceof Error ? e.message : String(e));
      throw e;
    }
  }

  private lostDetail(): string {
    const at = this.store?.last ? `the last checkpoint, step ${this.store.last.step}` : 'no checkpoint (start again)';
    return `The GPU device was lost (${this.lost?.reason ?? 'unknown'}${this.lost?.message ? `: ${this.lost.message}` : ''}). Resume continues from ${at}.`;
  }

  /** A new run with `settings` on `data`, trained at once. */
  async start(settings: StudioSettings, data: Dataset): Promise<void> {
    this.sampleOnly = null;
    await this.open(settings, data, null, 'refuse');
    this.continueTraining();
  }

  /** Reopens the auto-saved run (or a lost device's last checkpoint) and, when it was training, trains on. */
  async resume(point: ResumePoint, settings: StudioSettings, data: Dataset, running: boolean): Promise<void> {
    this.sampleOnly = null;
    // The run's own settings, from its checkpoint (it may be a CLI run opened here, with flags the form lacks).
    const meta = validateRunCheckpoint(point.checkpoint, AUTOSAVE_NAME).meta;
    await this.open(settings, data, point, 'refuse', pageOptions(optionsOfCheckpointMeta(meta, AUTOSAVE_NAME, PAGE_OUT), settings));
    if (running && this.run!.startStep < this.run!.recipe.steps) this.continueTraining();
    else this.setPhase(this.run!.startStep >= this.run!.recipe.steps ? 'done' : 'paused', `at step ${this.run!.startStep}`);
  }

  /**
   * Opens a checkpoint file (from `node train.js` or a page's Save) on `data`: to continue training when `data`
   * is the data it was trained on, else to sample only (said so, with the CLI's message).
   */
  async openCheckpoint(file: OpenedCheckpoint, cadence: Pick<StudioSettings, 'evalEvery' | 'autosaveEvery' | 'steps'>, data: Dataset, choice: DataChoice): Promise<void> {
    const meta = file.checkpoint.meta;
    const id = await dataFingerprint(data);
    this.sampleOnly = meta.data !== undefined && !sameData(meta.data, id)
      ? `${file.name} was trained on other data (${describeData(meta.data)}) than the data chosen here (${describeData(id)}): it can be sampled, not trained further. To train it on, choose its data and open it again.`
      : null;
    const settings = settingsOfCheckpoint(file.options, cadence, choice);
    const options = pageOptions(file.options, settings);
    const point: ResumePoint = { checkpoint: file.checkpoint, bytes: file.bytes, step: meta.step, records: [] };
    await this.open(settings, data, point, this.sampleOnly ? 'allow' : 'refuse', options);
    this.setPhase('paused', `opened ${file.name} at step ${meta.step}${this.sampleOnly ? ' (sample only)' : ''}`);
  }

  /** Trains from the step reached up to the settings' steps (a Resume, or more steps after the end). */
  continueTraining(steps?: number): void {
    const run = this.run;
    if (!run || this.training) return;
    if (this.sampleOnly) throw new Error(this.sampleOnly);
    if (steps !== undefined) {
      run.recipe.steps = steps;
      run.options.steps = steps;
      if (this.settings) this.settings.steps = steps;
    }
    if (run.startStep >= run.recipe.steps) {
      this.setPhase('done', `step ${run.startStep} of ${run.recipe.steps}: raise the steps to train further`);
      return;
    }
    this.dropPath();
    this.stop.requested = false;
    this.result.stoppedEarly = null;
    this.setPhase('training', `from step ${run.startStep} to ${run.recipe.steps}`);
    this.training = (async () => {
      try {
        const reached = await trainSteps(run, this.result, this.log);
        run.startStep = reached;
        if (this.result.stoppedEarly === 'nan') this.setPhase('failed', `stopped at step ${reached}: a non-finite loss or state (the log says which); the last good checkpoint is step ${this.store?.last?.step ?? 'none'}`);
        else if (this.stop.requested) this.setPhase('paused', `at step ${reached}`);
        else this.setPhase('done', `step ${reached} of ${run.recipe.steps}`);
      } catch (e) {
        // A lost device fails the step in flight first; its lost promise settles a moment later.
        await Promise.race([run.engine.device.lost, new Promise((r) => setTimeout(r, 1000))]);
        if (this.lost) this.setPhase('lost', this.lostDetail());
        else this.setPhase('failed', e instanceof Error ? e.message : String(e));
      } finally {
        this.training = null;
      }
    })();
  }

  /** Finishes the current step, writes a checkpoint (the auto-save) and stops; resolves once stopped. */
  async pause(): Promise<void> {
    if (!this.training) return;
    this.stop.requested = true;
    this.setPhase('pausing', 'finishing the current step');
    await this.training;
  }

  /** Runs `task` on a model that is not training: a training run is paused for it and trained on after. */
  private async whilePaused<T>(task: (run: Run) => Promise<T>): Promise<T> {
    const run = this.run;
    if (!run) throw new Error('no run: start one or open a checkpoint');
    const wasTraining = this.training !== null;
    await this.pause();
    if (this.phase === 'lost') throw new Error(this.lostDetail());
    if (this.phase === 'failed') throw new Error('the run stopped (see the message above); resume it or start a new one first');
    try {
      return await task(run);
    } finally {
      if (wasTraining && this.run === run && !this.lost) this.continueTraining();
    }
  }

  /** The checkpoint of the current state, byte for byte what `node train.js` writes (for Save). */
  async checkpointBytes(): Promise<{ name: string; bytes: Uint8Array; step: number }> {
    return this.whilePaused(async (run) => {
      const store = this.store!;
      if (!store.last || store.last.step !== run.startStep) await run.save(run.startStep);
      const { step, bytes } = store.last!;
      return { name: `agave-${run.options.config}-step${step}.agave`, bytes, step };
    });
  }

  /** VAE samples: f(z) for z from the prior (EMA weights), new noise at every call. */
  async vaeSamples(n: number): Promise<ImageRows> {
    return this.whilePaused(async (run) => {
      const { engine, model, params } = run;
      if (!model.hasVae) throw new Error(`the ${model.kind} model has no VAE`);
      const S = model.cfg.imageSize;
      const f = await params.withEma(() =>
        engine.asyncScope(async () => engine.noGrad(() => model.sampleVae(new Ctx(engine, params, { seed: run.options.seed, streamBase: this.nextStreams() }), n)).read()),
      );
      return { size: S, channels: model.channels, cols: n, rows: [{ label: 'VAE f(z)', images: auxToDisplay(f, n, model, S, model.channels) }] };
    });
  }

  /** The model's samples (modelSamples: AGAVE's f(z) and x with the cached sampler, row by row). */
  async modelSamples(n: number): Promise<ImageRows> {
    return this.whilePaused(async (run) => {
      const s = await modelSamples(run, n, this.log, this.nextStreams());
      this.log(`${s.what} drawn`);
      return { size: run.model.cfg.imageSize, channels: run.model.channels, cols: n, rows: s.rows };
    });
  }

  /** The paper's Figure 6 for test images a and b: z of both, interpolated in `steps`, decoded to f(z_t). */
  async interpolate(a: number, b: number, steps: number): Promise<ImageRows> {
    return this.whilePaused(async (run) => {
      const count = run.testSet.count;
      for (const i of [a, b]) if (!Number.isInteger(i) || i < 0 || i >= count) throw new Error(`test image ${i}: there are ${count} test images (0 to ${count - 1})`);
      const value = await run.params.withEma(() => interpolateLatents(run, [[a, b]], steps, { seed: run.options.seed, streamBase: this.nextStreams() }));
      const { model } = run;
      const S = model.cfg.imageSize;
      const C = model.channels;
      const one = S * S * C;
      const ends = new Uint8Array(steps * one);
      ends.set(value.originals.subarray(0, one), 0);
      ends.set(value.originals.subarray(one, 2 * one), (steps - 1) * one);
      const rows: ImageRow[] = [{ label: `test ${a}, ${b}`, images: ends }, { label: 'f(z_t)', images: auxToDisplay(value.f, steps, model, S, C) }];
      this.dropPath();
      this.path = { a, b, steps, value, rows: { size: S, channels: C, cols: steps, rows } };
      return this.path.rows;
    });
  }

  /** The PixelCNN's samples conditioned on f(z_t) along the current interpolation (the full model's images). */
  async interpolationSamples(): Promise<ImageRows> {
    return this.whilePaused(async (run) => {
      const path = this.path;
      if (!path) throw new Error('interpolate first');
      const x = await run.params.withEma(() => samplePixelcnn(run, path.value.fz, this.nextStreams(), this.log, `PixelCNN along the path (${path.steps} images)`));
      path.rows.rows = [...path.rows.rows.slice(0, 2), { label: 'x | f(z_t)', images: Uint8Array.from(x, (v) => Math.round(v)) }];
      return path.rows;
    });
  }

  private nextStreams(): number {
    // Fresh noise for every draw, clear of the evaluation's and the CLI's sampling streams (0x8..0xa.......).
    return 0xc0000000 + (this.draws++ % 0x3f) * 0x1000000;
  }

  private dropPath(): void {
    this.path?.value.fz.dispose();
    this.path = null;
  }

  /** The resume point of a lost device or a failed run: the last checkpoint written, with the records up to it. */
  lastPoint(): ResumePoint | null {
    const store = this.store;
    if (!store?.last) return null;
    return { checkpoint: decodeCheckpoint(store.last.bytes, store.paths.checkpoint), bytes: store.last.bytes, step: store.last.step, records: store.records };
  }

  /** Ends the run (its engine and device); the auto-save stays. */
  async close(): Promise<void> {
    if (this.training) {
      this.stop.requested = true;
      await this.training.catch(() => undefined);
    }
    this.closing = true;
    try {
      this.dropPath();
    } catch {
      // a lost device's tensors
    }
    try {
      this.run?.dispose();
    } catch {
      // a lost device disposes with errors; nothing is left to free
    }
    this.run = null;
  }
}
