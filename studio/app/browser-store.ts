// A run's outputs in a page (the RunStore of train/run/store.ts): checkpoints go to the auto-save slot in
// IndexedDB and stay in memory for Save, records feed the live curves (drawn by train/figures/curve-panels.ts,
// the code of curves.svg), grids and samples go to canvases. A full storage quota turns the auto-save off and
// says so; training goes on (Save still downloads the state).
import { assertFiniteCheckpoint, encodeCheckpointBytes, type Checkpoint } from '../../train/run/checkpoint-format.js';
import { curvesSvg, type MetricsRecord } from '../../train/figures/curve-panels.js';
import type { RunPaths, RunStore } from '../../train/run/store.js';
import type { ImageRows } from '../../train/evaluate/rows.js';
import { isQuotaError, type AutoSaveDb } from './autosave.js';
import type { StudioSettings } from './settings.js';

/** What the page shows of a run's outputs (studio/app/main.ts). */
export interface StoreView {
  record(r: MetricsRecord): void;
  curves(svg: string): void;
  rows(name: string, rows: ImageRows): void;
  progress(what: string, done: number, total: number): void;
  autosaved(step: number): void;
  notice(text: string): void;
}

/** The state a run resumes from: a checkpoint (an auto-save's, or a file's) and the records up to its step. */
export interface ResumePoint {
  checkpoint: Checkpoint<unknown>;
  bytes: Uint8Array;
  step: number;
  records: MetricsRecord[];
}

export const AUTOSAVE_NAME = 'the auto-save (IndexedDB)';

export class BrowserRunStore implements RunStore {
  readonly paths: RunPaths = { out: 'this page', checkpoint: AUTOSAVE_NAME, metrics: "this page's records", curves: 'the curves panel' };
  records: MetricsRecord[] = [];
  /** The last checkpoint written (or resumed from): what Save downloads and a lost device resumes from. */
  last: { step: number; bytes: Uint8Array } | null = null;
  /** Why auto-saving is off (null: on). */
  autosaveOff: string | null;
  /** The curves' title (train/step/loop.ts curvesTitle), set once the run is open. */
  title = 'this run';

  constructor(
    private readonly db: AutoSaveDb | null,
    private readonly view: StoreView,
    /** The settings saved with each checkpoint, and whether the run goes on after `step` (a periodic save). */
    private readonly context: (step: number) => { settings: StudioSettings; running: boolean },
    private readonly resumePoint: ResumePoint | null = null,
    dbUnavailable = 'IndexedDB is not available',
  ) {
    this.autosaveOff = db ? null : dbUnavailable;
    if (resumePoint) {
      // A resume redoes the steps after its checkpoint: their records go (as metrics.jsonl is trimmed).
      this.records = resumePoint.records.filter((r) => r.step <= resumePoint.step);
      this.last = { step: resumePoint.step, bytes: resumePoint.bytes };
    }
  }

  hasCheckpoint(): boolean {
    return this.last !== null;
  }

  async readCheckpoint(): Promise<Checkpoint<unknown> | null> {
    return this.resumePoint?.checkpoint ?? null;
  }

  async saveCheckpoint(ckpt: Checkpoint<unknown>): Promise<void> {
    assertFiniteCheckpoint(ckpt, this.paths.checkpoint, this.last ? `the checkpoint of step ${this.last.step} is kept unchanged` : 'no checkpoint existed there');
    const bytes = encodeCheckpointBytes(ckpt);
    const step = (ckpt.meta as { step: number }).step;
    this.last = { step, bytes };
    if (!this.db || this.autosaveOff !== null) return;
    const { settings, running } = this.context(step);
    try {
      await this.db.put({ version: 1, savedAt: new Date().toISOString(), step, checkpoint: bytes, records: this.records.filter((r) => r.step <= step), settings, running });
      this.view.autosaved(step);
    } catch (e) {
      const why = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      this.autosaveOff = isQuotaError(e) ? `the storage quota is full (${why})` : `IndexedDB refused the write (${why})`;
      this.view.notice(`Auto-save is off: ${this.autosaveOff}. Training continues; Save downloads the current state (step ${step}).`);
    }
  }

  appendRecord(record: MetricsRecord): void {
    // As metrics.jsonl holds it: non-finite numbers become null.
    const r = JSON.parse(JSON.stringify(record)) as MetricsRecord;
    this.records.push(r);
    this.view.record(r);
  }

  writeCurves(title: string): void {
    this.title = title;
    this.view.curves(this.curves());
  }

  /** The curves of the records so far (redrawn live by the page, not only at evaluations). */
  curves(): string {
    return curvesSvg(this.title, this.records);
  }

  rowsPath(name: string): string {
    return `${name} (${name.startsWith('samples-step') ? 'the grid panel' : 'the samples panel'})`;
  }

  writeImageRows(name: string, rows: ImageRows): void {
    this.view.rows(name, rows);
  }

  progress(what: string, done: number, total: number): void {
    this.view.progress(what, done, total);
  }
}
