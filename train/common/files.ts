// Atomic file writes: every file a run keeps (checkpoints, metrics rewrites, PNG figures) is written to a
// temporary file, fsync'd and renamed over its name, so a kill or a full disk never leaves half a file.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { explainFsError } from './fs-errors.js';

/**
 * Writes `data` to `path` atomically: into `path.tmp-<pid>` first (creating parent folders), fsync, then rename
 * over `path`. On any failure (ENOSPC, EACCES, ...) the temporary file is removed and the error says that the
 * previous file at `path`, if any, is intact.
 */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const target = resolve(path);
  const tmp = `${target}.tmp-${process.pid}`;
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let fd: number | undefined;
  let created = false;
  try {
    mkdirSync(dirname(target), { recursive: true });
    fd = openSync(tmp, 'w');
    created = true;
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, target);
  } catch (e) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // already failing; keep the original error
      }
    }
    if (created) {
      try {
        unlinkSync(tmp);
      } catch {
        // nothing more to do
      }
    }
    const previous = existsSync(target) ? `the previous file at ${path} is intact` : `no previous file existed at ${path}`;
    throw new Error(`could not write ${path} (${explainFsError(e)}; temporary ${tmp}); ${previous}`, { cause: e });
  }
  // Make the rename durable; not all platforms allow fsync on a directory, so this is best effort.
  try {
    const dfd = openSync(dirname(target), 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    // ignore
  }
}
