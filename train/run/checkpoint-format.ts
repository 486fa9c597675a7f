// The checkpoint container, platform-free (Node's train.js and a page's Save / Open share it, so a checkpoint
// is one format everywhere): a small self-checking container for float32 arrays plus JSON metadata.
// Reading and writing files is train/run/checkpoint-file.ts (Node); a page downloads or opens the same bytes.
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
import { crc32 } from '../common/crc32.js';

export const CHECKPOINT_MAGIC = 'AGAVECKP';
export const CHECKPOINT_VERSION = 1;
/** Bytes before the JSON header: magic, version, header length, data length. */
export const CHECKPOINT_FIXED_BYTES = 24;

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

/** A checkpoint that would hold NaN or Inf where finite values are required (a writer's requireFinite). */
export class NonFiniteCheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NonFiniteCheckpointError';
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

function latin1(bytes: Uint8Array, from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

/** Serialises a checkpoint to the container format described at the top of this file. */
export function encodeCheckpointBytes(ckpt: Checkpoint<unknown>): Uint8Array {
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
  const header = new TextEncoder().encode(json);
  const dataStart = align(CHECKPOINT_FIXED_BYTES + header.length, 8);
  const total = dataStart + dataBytes + 4;
  const buf = new Uint8Array(total);
  const view = new DataView(buf.buffer);
  for (let i = 0; i < CHECKPOINT_MAGIC.length; i++) buf[i] = CHECKPOINT_MAGIC.charCodeAt(i);
  view.setUint32(8, CHECKPOINT_VERSION, true);
  view.setUint32(12, header.length, true);
  view.setBigUint64(16, BigInt(dataBytes), true);
  buf.set(header, CHECKPOINT_FIXED_BYTES);
  for (const e of entries) {
    const arr = ckpt.arrays[e.name]!;
    const at = dataStart + e.offset;
    if (LITTLE_ENDIAN) {
      buf.set(new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength), at);
    } else {
      for (let i = 0; i < arr.length; i++) view.setFloat32(at + 4 * i, arr[i]!, true);
    }
  }
  view.setUint32(total - 4, crc32(buf.subarray(0, total - 4)), true);
  return buf;
}

function isEntry(x: unknown): x is ArrayEntry {
  if (typeof x !== 'object' || x === null) return false;
  const e = x as Record<string, unknown>;
  return typeof e.name === 'string' && e.dtype === 'f32' && Number.isSafeInteger(e.length) && Number.isSafeInteger(e.offset) &&
    (e.length as number) >= 0 && (e.offset as number) >= 0 && (e.offset as number) % 4 === 0;
}

/**
 * Parses and validates a checkpoint (magic, version, sizes, CRC, header). `name` (a file path or a file's name) is
 * put in error messages. The arrays are fresh copies.
 */
export function decodeCheckpoint<M = Record<string, unknown>>(buf: Uint8Array, name = 'checkpoint'): Checkpoint<M> {
  const fail = (msg: string): never => {
    throw new CheckpointError(`${name}: ${msg}`);
  };
  const FIXED = CHECKPOINT_FIXED_BYTES;
  if (buf.length < FIXED + 4) fail(`truncated: ${buf.length} bytes, shorter than the ${FIXED + 4}-byte minimum`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = latin1(buf, 0, 8);
  if (magic !== CHECKPOINT_MAGIC) fail(`wrong magic ${JSON.stringify(magic)}, expected ${JSON.stringify(CHECKPOINT_MAGIC)}: not an AGAVE checkpoint`);
  const version = view.getUint32(8, true);
  if (version !== CHECKPOINT_VERSION) fail(`unsupported checkpoint version ${version} (this build reads version ${CHECKPOINT_VERSION})`);
  const headerLen = view.getUint32(12, true);
  const dataLenBig = view.getBigUint64(16, true);
  if (dataLenBig > BigInt(Number.MAX_SAFE_INTEGER)) fail(`corrupt size field (data length ${dataLenBig})`);
  const dataLen = Number(dataLenBig);
  const dataStart = align(FIXED + headerLen, 8);
  const expected = dataStart + dataLen + 4;
  if (buf.length < expected) fail(`truncated: ${buf.length} bytes, the header says ${expected}`);
  if (buf.length > expected) fail(`${buf.length - expected} unexpected trailing bytes (the header says ${expected} bytes)`);
  const stored = view.getUint32(expected - 4, true);
  const actual = crc32(buf.subarray(0, expected - 4));
  if (stored !== actual) {
    fail(`checksum mismatch (stored CRC-32 ${stored.toString(16).padStart(8, '0')}, computed ` +
      `${actual.toString(16).padStart(8, '0')}): the file is corrupt`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { ignoreBOM: true }).decode(buf.subarray(FIXED, FIXED + headerLen)));
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
      new Uint8Array(out.buffer).set(buf.subarray(at, at + entry.length * 4));
    } else {
      for (let i = 0; i < entry.length; i++) out[i] = view.getFloat32(at + 4 * i, true);
    }
    arrays[entry.name] = out;
  }
  return { meta: header.meta, arrays };
}

/** The first non-finite element of the arrays, or null when every value is finite. */
export function firstNonFinite(arrays: Record<string, Float32Array>): { array: string; index: number; value: number } | null {
  for (const [name, a] of Object.entries(arrays)) {
    for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return { array: name, index: i, value: a[i]! };
  }
  return null;
}

/**
 * A writer's requireFinite: throws NonFiniteCheckpointError (`not writing WHERE: array 'x' holds NaN at element i;
 * ...`) before anything is written when an array holds NaN or Inf. `previous` says what is kept instead.
 */
export function assertFiniteCheckpoint(ckpt: Checkpoint<unknown>, where: string, previous: string): void {
  const bad = firstNonFinite(ckpt.arrays);
  if (bad) throw new NonFiniteCheckpointError(`not writing ${where}: array '${bad.array}' holds ${bad.value} at element ${bad.index}; ${previous}`);
}
