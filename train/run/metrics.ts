// Small helpers for training logs: JSON-lines metrics files (Node); human-readable durations and bits per
// dimension are platform-free (train/common/units.ts) and re-exported here.
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { writeFileAtomic } from '../common/files.js';
import { explainFsError } from '../common/fs-errors.js';

export { bitsPerDim, formatDuration } from '../common/units.js';

/**
 * Appends `record` as one JSON line to `path`, creating parent folders. Non-finite numbers are written as null.
 * A failed write (ENOSPC, EROFS, ...) says so with the path; the records already in the file are kept.
 */
export function appendJsonl(path: string, record: object): void {
  const target = resolve(path);
  const line = JSON.stringify(record);
  if (line === undefined) throw new TypeError('appendJsonl: record is not JSON-serialisable');
  try {
    mkdirSync(dirname(target), { recursive: true });
    appendFileSync(target, line + '\n', 'utf8');
  } catch (e) {
    throw new Error(`could not append to ${path} (${explainFsError(e)}); the records written before are kept`, { cause: e });
  }
}

/**
 * Keeps only the records of a JSON-lines metrics file up to `step` (records without a numeric `step` are kept;
 * unparsable lines, e.g. one cut off by a kill, are dropped), rewriting the file atomically when anything
 * changes. For a resume from a checkpoint at `step`: the steps redone are not recorded twice.
 * Returns how many lines were dropped.
 */
export function truncateJsonlAfterStep(path: string, step: number): { dropped: number; kept: number } {
  if (!existsSync(path)) return { dropped: 0, kept: 0 };
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.trim().length > 0);
  const keep = lines.filter((l) => {
    let r: unknown;
    try {
      r = JSON.parse(l);
    } catch {
      return false;
    }
    if (typeof r !== 'object' || r === null) return false;
    const s = (r as { step?: unknown }).step;
    return typeof s !== 'number' || s <= step;
  });
  const dropped = lines.length - keep.length;
  if (dropped > 0) writeFileAtomic(path, keep.map((l) => l + '\n').join(''));
  return { dropped, kept: keep.length };
}
