// Checkpoint files: atomic writes and a small self-checking container for float32 arrays plus JSON metadata.
//
// Container layout (all integers little-endian):
//   offset 0   8 bytes  magic "AGAVECKP"
//   offset 8   u32      format version (CHECKPOINT_VERSION)
//   offset 12  u32      H: byte length of the JSON header
//   offset 16  u64      D: byte length of the float data section
//   offset 24  H bytes  JSON header, UTF-8: { "meta": <user meta>, "arrays": [{ "name", "dtype": "f32", "length",
//                       "offset" }] }, offsets in bytes from the start of the data section
//   then zero padding up to a multiple of 8 bytes (so the data section is 4- and 8-byte aligned)
//   D bytes            float32 data, little-endian, each array at its offset (4-byte aligned, packed in order)
//   last 4 bytes u32   CRC-32 (IEEE, as in zlib/PNG) of every byte before it
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { resolve } from 'node:path';
import { crc32 } from '../common/crc32.js';
import { explainFsError } from '../common/fs-errors.js';
import { writeFileAtomic } from '../common/files.js';

export { writeFileAtomic } from '../common/files.js';

// ---------------------------------------------------------------------------------------------------------------
// Container

export const CHECKPOINT_MAGIC = 'AGAVECKP';
export const CHECKPOINT_VERSION = 1;
const FIXED = 24;

/** What a checkpoint holds: JSON-serialisable metadata and named float32 arrays. */
export interface Checkpoint<M = Record<string, unknown>> {
  meta: M;
  arrays: Record<string, Float32Array>;
}

/** A malformed checkpoint: truncated, wrong magic or version, bad header, checksum mismatch. */
export class CheckpointError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CheckpointError';
  }
}

interface ArrayEntry {
  name: string;
  dtype: 'f32';
  length: number;
  offset: number;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function align(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

/** Serialises a checkpoint to the container format described at the top of this file. */
export function encodeCheckpoint(ckpt: Checkpoint<unknown>): Buffer {
  const entries: ArrayEntry[] = [];
  let dataBytes = 0;
  for (const [name, arr] of Object.entries(ckpt.arrays)) {
    if (!(arr instanceof Float32Array)) throw new TypeError(`encodeCheckpoint: array '${name}' is not a Float32Array`);
    entries.push({ name, dtype: 'f32', length: arr.length, offset: dataBytes });
    dataBytes += arr.length * 4;
  }
  let json: string | undefined;
  try {
    json = JSON.stringify({ meta: ckpt.meta, arrays: entries });
  } catch (e) {
    throw new TypeError(`encodeCheckpoint: meta is not JSON-serialisable (${e instanceof Error ? e.message : String(e)})`);
  }
  const header = Buffer.from(json, 'utf8');
  const dataStart = align(FIXED + header.length, 8);
  const total = dataStart + dataBytes + 4;
  const buf = Buffer.alloc(total);
  buf.write(CHECKPOINT_MAGIC, 0, 'latin1');
  buf.writeUInt32LE(CHECKPOINT_VERSION, 8);
  buf.writeUInt32LE(header.length, 12);
  buf.writeBigUInt64LE(BigInt(dataBytes), 16);
  header.copy(buf, FIXED);
  for (const e of entries) {
    const arr = ckpt.arrays[e.name]!;
    const at = dataStart + e.offset;
    if (LITTLE_ENDIAN) {
      buf.set(new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength), at);
    } else {
      for (let i = 0; i < arr.length; i++) buf.writeFloatLE(arr[i]!, at + 4 * i);
    }
  }
  buf.writeUInt32LE(crc32(buf.subarray(0, total - 4)), total - 4);
  return buf;
}

function isEntry(x: unknown): x is ArrayEntry {
  if (typeof x !== 'object' || x === null) return false;
  const e = x as Record<string, unknown>;
  return typeof e.name === 'string' && e.dtype === 'f32' && Number.isSafeInteger(e.length) && Number.isSafeInteger(e.offset) &&
    (e.length as number) >= 0 && (e.offset as number) >= 0 && (e.offset as number) % 4 === 0;
}

/**
 * Parses and validates a checkpoint (magic, version, sizes, CRC, header). `name` (a file path) is put in error
 * messages. The arrays are fresh copies.
 */
export function decodeCheckpoint<M = Record<string, unknown>>(buf: Uint8Array, name = 'checkpoint'): Checkpoint<M> {
  const fail = (msg: string): never => {
    throw new CheckpointError(`${name}: ${msg}`);
  };
  if (buf.length < FIXED + 4) fail(`truncated: ${buf.length} bytes, shorter than the ${FIXED + 4}-byte minimum`);
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = b.toString('latin1', 0, 8);
  if (magic !== CHECKPOINT_MAGIC) fail(`wrong magic ${JSON.stringify(magic)}, expected ${JSON.stringify(CHECKPOINT_MAGIC)}: not an AGAVE checkpoint`);
  const version = b.readUInt32LE(8);
  if (version !== CHECKPOINT_VERSION) fail(`unsupported checkpoint version ${version} (this build reads version ${CHECKPOINT_VERSION})`);
  const headerLen = b.readUInt32LE(12);
  const dataLenBig = b.readBigUInt64LE(16);
  if (dataLenBig > BigInt(Number.MAX_SAFE_INTEGER)) fail(`corrupt size field (data length ${dataLenBig})`);
  const dataLen = Number(dataLenBig);
  const dataStart = align(FIXED + headerLen, 8);
  const expected = dataStart + dataLen + 4;
  if (b.length < expected) fail(`truncated: ${b.length} bytes, the header says ${expected}`);
  if (b.length > expected) fail(`${b.length - expected} unexpected trailing bytes (the header says ${expected} bytes)`);
  const stored = b.readUInt32LE(expected - 4);
  const actual = crc32(b.subarray(0, expected - 4));
  if (stored !== actual) {
    fail(`checksum mismatch (stored CRC-32 ${stored.toString(16).padStart(8, '0')}, computed ` +
      `${actual.toString(16).padStart(8, '0')}): the file is corrupt`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(b.toString('utf8', FIXED, FIXED + headerLen));
  } catch (e) {
    fail(`bad JSON header (${e instanceof Error ? e.message : String(e)})`);
  }
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray((parsed as { arrays?: unknown }).arrays)) {
    fail('bad JSON header: no "arrays" list');
  }
  const header = parsed as { meta: M; arrays: unknown[] };
  const arrays: Record<string, Float32Array> = {};
  for (const e of header.arrays) {
    if (!isEntry(e)) fail(`bad array entry in the header: ${JSON.stringify(e)}`);
    const entry = e as ArrayEntry;
    if (entry.offset + entry.length * 4 > dataLen) {
      fail(`array '${entry.name}' (${entry.length} floats at byte ${entry.offset}) runs past the ${dataLen}-byte data section`);
    }
    if (Object.prototype.hasOwnProperty.call(arrays, entry.name)) fail(`array '${entry.name}' appears twice`);
    const out = new Float32Array(entry.length);
    const at = dataStart + entry.offset;
    if (LITTLE_ENDIAN) {
      new Uint8Array(out.buffer).set(b.subarray(at, at + entry.length * 4));
    } else {
      for (let i = 0; i < entry.length; i++) out[i] = b.readFloatLE(at + 4 * i);
    }
    arrays[entry.name] = out;
  }
  return { meta: header.meta, arrays };
}

/** A checkpoint that would hold NaN or Inf where finite values are required (saveCheckpoint's requireFinite). */
export class NonFiniteCheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NonFiniteCheckpointError';
  }
}

/** The first non-finite element of the arrays, or null when every value is finite. */
export function firstNonFinite(arrays: Record<string, Float32Array>): { array: string; index: number; value: number } | null {
  for (const [name, a] of Object.entries(arrays)) {
    for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return { array: name, index: i, value: a[i]! };
  }
  return null;
}

export interface SaveOptions {
  /** Refuse (NonFiniteCheckpointError, nothing written, the previous file untouched) when an array holds NaN/Inf. */
  requireFinite?: boolean;
}

/** Encodes and writes a checkpoint atomically (see writeFileAtomic); verified finite first with requireFinite. */
export function saveCheckpoint(path: string, ckpt: Checkpoint<unknown>, options: SaveOptions = {}): void {
  if (options.requireFinite) {
    const bad = firstNonFinite(ckpt.arrays);
    if (bad) {
      throw new NonFiniteCheckpointError(`not writing ${path}: array '${bad.array}' holds ${bad.value} at element ${bad.index}; ` +
        `${existsSync(path) ? `the previous checkpoint at ${path} is kept unchanged` : 'no checkpoint existed there'}`);
    }
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
