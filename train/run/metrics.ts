// Small helpers for training logs: JSON-lines metrics files, human-readable durations, bits per dimension.
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { writeFileAtomic } from '../common/files.js';
import { explainFsError } from '../common/fs-errors.js';

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

/**
 * A compact duration: '12s' (under a minute; one decimal below 10 s, e.g. '2.5s'), '3m05s' (under an hour),
 * '1h02m' (an hour or more), '?' for a negative or non-finite value.
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 9.95) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  const m = Math.round(seconds / 60);
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** Negative log-likelihood in nats over `dims` dimensions, as bits per dimension: nats / (dims * ln 2). */
export function bitsPerDim(nats: number, dims: number): number {
  return nats / (dims * Math.LN2);
}
