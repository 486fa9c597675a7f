// Checkpoint files in Node: atomic writes and reads of the container (train/run/checkpoint-format.ts, the same
// bytes a page's Save downloads and its Open reads), and the header alone for messages.
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { resolve } from 'node:path';
import { explainFsError } from '../common/fs-errors.js';
import { writeFileAtomic } from '../common/files.js';
import {
  CHECKPOINT_FIXED_BYTES, CHECKPOINT_MAGIC, CheckpointError, assertFiniteCheckpoint, decodeCheckpoint, encodeCheckpointBytes, type Checkpoint,
} from './checkpoint-format.js';
import { checkpointStepOf } from './checkpoint-state.js';

export { writeFileAtomic } from '../common/files.js';
export {
  CHECKPOINT_MAGIC, CHECKPOINT_VERSION, CheckpointError, NonFiniteCheckpointError, decodeCheckpoint, firstNonFinite, type Checkpoint,
} from './checkpoint-format.js';

const FIXED = CHECKPOINT_FIXED_BYTES;

/** Serialises a checkpoint to the container format (train/run/checkpoint-format.ts), as a Buffer. */
export function encodeCheckpoint(ckpt: Checkpoint<unknown>): Buffer {
  const bytes = encodeCheckpointBytes(ckpt);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export interface SaveOptions {
  /** Refuse (NonFiniteCheckpointError, nothing written, the previous file untouched) when an array holds NaN/Inf. */
  requireFinite?: boolean;
}

/** Encodes and writes a checkpoint atomically (see writeFileAtomic); verified finite first with requireFinite. */
export function saveCheckpoint(path: string, ckpt: Checkpoint<unknown>, options: SaveOptions = {}): void {
  if (options.requireFinite) {
    assertFiniteCheckpoint(ckpt, path, existsSync(path) ? `the previous checkpoint at ${path} is kept unchanged` : 'no checkpoint existed there');
  }
  writeFileAtomic(path, encodeCheckpoint(ckpt));
}

/**
 * The metadata of a checkpoint without reading its arrays (the fixed fields and the JSON header only; the CRC,
 * which covers the whole file, is not checked). For messages about a checkpoint that is not going to be loaded.
 */
export function readCheckpointMeta<M = Record<string, unknown>>(path: string): M {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const fixed = Buffer.alloc(FIXED);
    if (readSync(fd, fixed, 0, FIXED, 0) < FIXED) throw new CheckpointError(`${path}: truncated`);
    if (fixed.toString('latin1', 0, 8) !== CHECKPOINT_MAGIC) throw new CheckpointError(`${path}: not an AGAVE checkpoint`);
    const len = fixed.readUInt32LE(12);
    if (len > 64 * 1024 * 1024) throw new CheckpointError(`${path}: implausible header length ${len}`);
    const header = Buffer.alloc(len);
    if (readSync(fd, header, 0, len, FIXED) < len) throw new CheckpointError(`${path}: truncated header`);
    return (JSON.parse(header.toString('utf8')) as { meta: M }).meta;
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    throw new CheckpointError(`${path}: cannot read checkpoint header (${explainFsError(e)})`, { cause: e });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Reads and validates a checkpoint; errors name the file. */
export function loadCheckpoint<M = Record<string, unknown>>(path: string): Checkpoint<M> {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    const code = explainFsError(e);
    if (code.startsWith('ENOENT')) throw new CheckpointError(`${path}: checkpoint not found (looked for ${resolve(path)})`, { cause: e });
    throw new CheckpointError(`${path}: cannot read checkpoint (${code})`, { cause: e });
  }
  return decodeCheckpoint<M>(buf, path);
}

/** The step of a checkpoint, from its header alone (a paper-config checkpoint is ~1.6 GB), validated. */
export function readCheckpointStep(path: string): number {
  return checkpointStepOf(readCheckpointMeta<Record<string, unknown>>(path), path);
}
