// A run's outputs in Node: its run folder (train/run/folder.ts opens and locks it) holds checkpoint.agave
// (written atomically, never non-finite), metrics.jsonl, curves.svg redrawn from it, and PNG grids with their
// rows as JSON beside them. The RunStore of `node train.js`, its experiments and the tests.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadCheckpoint, saveCheckpoint } from './checkpoint-file.js';
import type { Checkpoint } from './checkpoint-format.js';
import { CHECKPOINT_FILE, METRICS_FILE } from './folder.js';
import { appendJsonl } from './metrics.js';
import type { RunPaths, RunStore } from './store.js';
import { writeCurves } from '../figures/curves.js';
import type { MetricsRecord } from '../figures/curve-panels.js';
import { writeLabelledRows, type ImageRows } from '../evaluate/images.js';

export class NodeRunStore implements RunStore {
  readonly paths: RunPaths;

  constructor(out: string) {
    this.paths = { out, checkpoint: join(out, CHECKPOINT_FILE), metrics: join(out, METRICS_FILE), curves: join(out, 'curves.svg') };
  }

  hasCheckpoint(): boolean {
    return existsSync(this.paths.checkpoint);
  }

  async readCheckpoint(): Promise<Checkpoint<unknown> | null> {
    return existsSync(this.paths.checkpoint) ? loadCheckpoint(this.paths.checkpoint) : null;
  }

  async saveCheckpoint(ckpt: Checkpoint<unknown>): Promise<void> {
    saveCheckpoint(this.paths.checkpoint, ckpt, { requireFinite: true });
  }

  appendRecord(record: MetricsRecord): void {
    appendJsonl(this.paths.metrics, record);
  }

  writeCurves(title: string): void {
    writeCurves(this.paths.metrics, this.paths.curves, title);
  }

  rowsPath(name: string): string {
    return join(this.paths.out, `${name}.png`);
  }

  writeImageRows(name: string, rows: ImageRows, jsonName?: string): void {
    writeLabelledRows(this.rowsPath(name), rows.rows, rows.cols, rows.size, rows.channels, jsonName !== undefined ? join(this.paths.out, `${jsonName}.json`) : undefined);
  }
}
