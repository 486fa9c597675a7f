// Image data sets for training: CIFAR-10 (binary batches) and Fashion-MNIST (IDX), gzip'd or raw, the bundled
// CIFAR-10 sample, a seedable shuffling batch order that can be saved and restored exactly, and batch gathering.
//
// Every loader validates its input completely and throws DataError (naming the file and the problem) rather
// than loading part of a file. Images are returned as uint8 NHWC (the project's layout), 0..255.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { fsErrorCode } from '../common/fs-errors.js';
import { mulberry32 } from '../common/random.js';

/** A set of same-sized uint8 images, NHWC, with one label byte per image. */
export interface ImageSet {
  /** count * height * width * channels bytes, NHWC, 0..255. */
  images: Uint8Array;
  /** count bytes. */
  labels: Uint8Array;
  count: number;
  height: number;
  width: number;
  channels: number;
  /** Where the data came from (file paths), for logs. */
  source: string;
}

/** A train/test pair as returned by loadDataset. */
export interface Dataset {
  train: ImageSet;
  test: ImageSet;
  /** Which format the files were in. */
  format: 'cifar10' | 'fashion-mnist';
  /** Class names in label order. */
  classNames: string[];
}

/** Bad, missing or inconsistent data files. The message names the file and the problem. */
export class DataError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DataError';
  }
}

export const CIFAR10_RECORD_BYTES = 3073;
export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag',
  'Ankle boot'];
const CIFAR_SIDE = 32;
const CIFAR_PLANE = CIFAR_SIDE * CIFAR_SIDE;

// ---------------------------------------------------------------------------------------------------------------
// File reading

/** Reads a file, gunzipping it when its name ends in .gz or its content starts with the gzip magic bytes. */
export function readMaybeGzip(path: string): Uint8Array {
  const abs = resolve(path);
  let raw: Buffer;
  try {
    raw = readFileSync(abs);
  } catch (e) {
    const code = fsErrorCode(e);
    if (code === 'ENOENT') throw new DataError(`${path}: file not found (looked for ${abs})`, { cause: e });
    if (code === 'EISDIR') throw new DataError(`${path}: is a directory, expected a data file`, { cause: e });
    throw new DataError(`${path}: cannot read (${code ?? String(e)})`, { cause: e });
  }
  const isGzip = raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b;
  if (path.endsWith('.gz') && !isGzip) {
    throw new DataError(`${path}: not a gzip file (name ends in .gz but the content does not start with the gzip magic 1f 8b)`);
  }
  if (!isGzip) return new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  try {
    const out = gunzipSync(raw);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new DataError(`${path}: corrupt or truncated gzip data (${msg})`, { cause: e });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// CIFAR-10

/** Parses CIFAR-10 binary records (label byte + planar R, G, B 32x32) into NHWC; `name` is used in errors. */
export function parseCifar10(bytes: Uint8Array, name: string): ImageSet {
  if (bytes.length === 0) throw new DataError(`${name}: no CIFAR-10 records (file is empty)`);
  if (bytes.length % CIFAR10_RECORD_BYTES !== 0) {
    throw new DataError(`${name}: size ${bytes.length} bytes is not a multiple of the CIFAR-10 record size ` +
      `${CIFAR10_RECORD_BYTES} (${Math.floor(bytes.length / CIFAR10_RECORD_BYTES)} whole records and ` +
      `${bytes.length % CIFAR10_RECORD_BYTES} bytes left over: truncated or not CIFAR-10 binary)`);
  }
  const count = bytes.length / CIFAR10_RECORD_BYTES;
  const labels = new Uint8Array(count);
  const images = new Uint8Array(count * CIFAR_PLANE * 3);
  for (let n = 0; n < count; n++) {
    const rec = n * CIFAR10_RECORD_BYTES;
    const label = bytes[rec]!;
    if (label > 9) throw new DataError(`${name}: record ${n} (byte offset ${rec}) has label ${label}, expected 0-9`);
    labels[n] = label;
    const r = rec + 1, g = r + CIFAR_PLANE, b = g + CIFAR_PLANE;
    let o = n * CIFAR_PLANE * 3;
    for (let p = 0; p < CIFAR_PLANE; p++) {
      images[o] = bytes[r + p]!;
      images[o + 1] = bytes[g + p]!;
      images[o + 2] = bytes[b + p]!;
      o += 3;
    }
  }
  return { images, labels, count, height: CIFAR_SIDE, width: CIFAR_SIDE, channels: 3, source: name };
}

/** Loads and concatenates CIFAR-10 binary batch files (`.bin` or `.bin.gz`). */
export function loadCifar10(paths: string[]): ImageSet {
  if (paths.length === 0) throw new DataError('loadCifar10: no files given');
  return concatSets(paths.map((p) => parseCifar10(readMaybeGzip(p), p)));
}

/** Concatenates image sets of the same geometry. */
export function concatSets(sets: ImageSet[]): ImageSet {
  if (sets.length === 0) throw new DataError('concatSets: no image sets given');
  const first = sets[0]!;
  if (sets.length === 1) return first;
  for (const s of sets) {
    if (s.height !== first.height || s.width !== first.width || s.channels !== first.channels) {
      throw new DataError(`${s.source}: images are ${s.height}x${s.width}x${s.channels}, but ${first.source} has ` +
        `${first.height}x${first.width}x${first.channels}`);
    }
  }
  const count = sets.reduce((a, s) => a + s.count, 0);
  const images = new Uint8Array(sets.reduce((a, s) => a + s.images.length, 0));
  const labels = new Uint8Array(count);
  let io = 0, lo = 0;
  for (const s of sets) {
    images.set(s.images, io);
    labels.set(s.labels, lo);
    io += s.images.length;
    lo += s.labels.length;
  }
  return { images, labels, count, height: first.height, width: first.width, channels: first.channels,
    source: sets.map((s) => s.source).join(' + ') };
}

// ---------------------------------------------------------------------------------------------------------------
// Fashion-MNIST (IDX)

const IDX_IMAGES_MAGIC = 2051;
const IDX_LABELS_MAGIC = 2049;

function idxHeader(bytes: Uint8Array, name: string, magic: number, words: number): number[] {
  const need = 4 * words;
  if (bytes.length < need) {
    throw new DataError(`${name}: ${bytes.length} bytes is too short for an IDX header (${need} bytes): truncated`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const got = view.getInt32(0, false);
  if (got !== magic) {
    const what = magic === IDX_IMAGES_MAGIC ? 'an IDX image file' : 'an IDX label file';
    const hint = got === IDX_IMAGES_MAGIC ? ' (this is an image file)' : got === IDX_LABELS_MAGIC ? ' (this is a label file)' : '';
    throw new DataError(`${name}: wrong IDX magic number ${got}, expected ${magic} for ${what}${hint}`);
  }
  const out: number[] = [];
  for (let i = 1; i < words; i++) {
    const v = view.getInt32(4 * i, false);
    if (v < 0) throw new DataError(`${name}: negative IDX header dimension ${v}`);
    out.push(v);
  }
  return out;
}

export interface FashionMnistOptions {
  /** Expected image rows and columns (default 28 x 28); a file with other dimensions is rejected. */
  height?: number;
  width?: number;
}

/** Parses an IDX3 uint8 image file (magic 2051). */
export function parseIdxImages(bytes: Uint8Array, name: string, options: FashionMnistOptions = {}): ImageSet {
  const [count, rows, cols] = idxHeader(bytes, name, IDX_IMAGES_MAGIC, 4) as [number, number, number];
  const wantH = options.height ?? 28, wantW = options.width ?? 28;
  if (rows !== wantH || cols !== wantW) {
    throw new DataError(`${name}: images are ${rows}x${cols} (rows x cols in the IDX header), expected ${wantH}x${wantW}`);
  }
  if (count === 0) throw new DataError(`${name}: IDX header says 0 images`);
  const expected = 16 + count * rows * cols;
  if (bytes.length !== expected) {
    throw new DataError(`${name}: IDX header says ${count} images of ${rows}x${cols} (${expected} bytes with the header) ` +
      `but the file has ${bytes.length} bytes${bytes.length < expected ? ': truncated' : ': trailing data'}`);
  }
  const images = bytes.slice(16);
  return { images, labels: new Uint8Array(count), count, height: rows, width: cols, channels: 1, source: name };
}

/** Parses an IDX1 uint8 label file (magic 2049); labels must be 0-9. */
export function parseIdxLabels(bytes: Uint8Array, name: string): Uint8Array {
  const [count] = idxHeader(bytes, name, IDX_LABELS_MAGIC, 2) as [number];
  const expected = 8 + count;
  if (bytes.length !== expected) {
    throw new DataError(`${name}: IDX header says ${count} labels (${expected} bytes with the header) but the file has ` +
      `${bytes.length} bytes${bytes.length < expected ? ': truncated' : ': trailing data'}`);
  }
  const labels = bytes.slice(8);
  for (let i = 0; i < count; i++) {
    if (labels[i]! > 9) throw new DataError(`${name}: label ${i} is ${labels[i]}, expected 0-9`);
  }
  return labels;
}

/**
 * Loads a Fashion-MNIST (or MNIST) IDX image file and, when given, its label file. Without a label file every
 * label is 0. Channels is 1.
 */
export function loadFashionMnist(imagesPath: string, labelsPath?: string, options: FashionMnistOptions = {}): ImageSet {
  const set = parseIdxImages(readMaybeGzip(imagesPath), imagesPath, options);
  if (labelsPath === undefined) return set;
  const labels = parseIdxLabels(readMaybeGzip(labelsPath), labelsPath);
  if (labels.length !== set.count) {
    throw new DataError(`${labelsPath}: ${labels.length} labels, but ${imagesPath} has ${set.count} images`);
  }
  return { ...set, labels, source: `${imagesPath} (labels ${labelsPath})` };
}

// ---------------------------------------------------------------------------------------------------------------
// Directories and the bundled sample

function findFile(dir: string, names: string[]): string | undefined {
  for (const n of names) {
    const p = join(dir, n);
    if (existsSync(p)) return p;
  }
  return undefined;
}

function gzOrRaw(base: string): string[] {
  return [`${base}.gz`, base];
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function readClassNames(dir: string, fallback: string[]): string[] {
  const p = join(dir, 'batches.meta.txt');
  if (!existsSync(p)) return fallback;
  const names = readFileSync(p, 'utf8').split(/\r?\n/).map((s) => s.trim()).filter((s) => s.length > 0);
  return names.length === 10 ? names : fallback;
}

function loadCifarDir(dir: string): Dataset | undefined {
  const files = readdirSync(dir);
  const byBatch = new Map<number, string>();
  for (const f of files) {
    const m = /^data_batch_(\d+)\.bin(\.gz)?$/.exec(f);
    if (!m) continue;
    const k = Number(m[1]);
    const prev = byBatch.get(k);
    // Prefer the uncompressed file when both exist (same content, faster).
    if (prev === undefined || prev.endsWith('.gz')) byBatch.set(k, f);
  }
  const test = findFile(dir, ['test_batch.bin', 'test_batch.bin.gz']);
  if (byBatch.size === 0 && test === undefined) return undefined;
  if (byBatch.size === 0) {
    throw new DataError(`${dir}: has ${test} but no CIFAR-10 training batches (looked for data_batch_<n>.bin or data_batch_<n>.bin.gz)`);
  }
  if (test === undefined) {
    throw new DataError(`${dir}: has CIFAR-10 training batches but no test batch (looked for ${join(dir, 'test_batch.bin')} ` +
      `and ${join(dir, 'test_batch.bin.gz')})`);
  }
  const trainPaths = [...byBatch.keys()].sort((a, b) => a - b).map((k) => join(dir, byBatch.get(k)!));
  return { train: loadCifar10(trainPaths), test: loadCifar10([test]), format: 'cifar10',
    classNames: readClassNames(dir, CIFAR10_CLASSES) };
}

function loadFashionDir(dir: string): Dataset | undefined {
  const trainImages = findFile(dir, gzOrRaw('train-images-idx3-ubyte'));
  const testImages = findFile(dir, gzOrRaw('t10k-images-idx3-ubyte'));
  if (trainImages === undefined && testImages === undefined) return undefined;
  const need = (base: string): string => {
    const p = findFile(dir, gzOrRaw(base));
    if (p === undefined) {
      throw new DataError(`${dir}: Fashion-MNIST file ${base} missing (looked for ${join(dir, base + '.gz')} and ${join(dir, base)})`);
    }
    return p;
  };
  const trI = need('train-images-idx3-ubyte'), trL = need('train-labels-idx1-ubyte');
  const teI = need('t10k-images-idx3-ubyte'), teL = need('t10k-labels-idx1-ubyte');
  return { train: loadFashionMnist(trI, trL), test: loadFashionMnist(teI, teL), format: 'fashion-mnist',
    classNames: FASHION_MNIST_CLASSES };
}

/**
 * Loads a train/test pair. `spec` undefined, '' or 'sample': the bundled CIFAR-10 sample. Otherwise a directory
 * holding CIFAR-10 binary batches (data_batch_<n>.bin[.gz] for training, all of them, and test_batch.bin[.gz];
 * a cifar-10-batches-bin/ subfolder is also searched) or the four Fashion-MNIST IDX files
 * (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]).
 */
export function loadDataset(spec?: string): Dataset {
  if (spec === undefined || spec === 'sample') return loadBundledSample();
  if (spec.trim() === '') throw new DataError(`the data folder name is empty ('${spec}'); give a folder, or no --data for the bundled CIFAR-10 sample`);
  const dir = resolve(spec);
  if (!existsSync(dir)) throw new DataError(`${spec}: data directory not found (looked for ${dir})`);
  if (!isDirectory(dir)) throw new DataError(`${spec}: expected a directory holding CIFAR-10 or Fashion-MNIST files, found a file`);
  for (const d of [dir, join(dir, 'cifar-10-batches-bin')]) {
    if (!isDirectory(d)) continue;
    const c = loadCifarDir(d);
    if (c) return c;
  }
  const f = loadFashionDir(dir);
  if (f) return f;
  throw new DataError(`${spec}: no data set found in ${dir} (looked for CIFAR-10 data_batch_<n>.bin[.gz] + test_batch.bin[.gz], ` +
    `also under cifar-10-batches-bin/, and for Fashion-MNIST train-images-idx3-ubyte[.gz] / t10k-images-idx3-ubyte[.gz] with their labels)`);
}

export const SAMPLE_TRAIN_FILE = 'cifar10-sample-train.bin.gz';
export const SAMPLE_TEST_FILE = 'cifar10-sample-test.bin.gz';

/**
 * The folders where the bundled data/ may be: next to the source tree (train/../data, when run by vitest or tsx),
 * next to the bundle (train.js at the repo root: ./data beside it), the process cwd, and the folder of
 * process.argv[1]. Existing ones first is not guaranteed; callers check.
 */
export function bundledDataDirs(): string[] {
  const dirs: string[] = [];
  const add = (d: string): void => {
    if (!dirs.includes(d)) dirs.push(d);
  };
  try {
    add(fileURLToPath(new URL('../data/', import.meta.url)));
    add(fileURLToPath(new URL('./data/', import.meta.url)));
  } catch {
    // import.meta.url is not a file: URL (e.g. a browser bundle); fall through to the process paths.
  }
  add(resolve(process.cwd(), 'data'));
  if (process.argv[1]) add(resolve(dirname(process.argv[1]), 'data'));
  return dirs.map((d) => resolve(d));
}

/** The bundled CIFAR-10 sample (data/cifar10-sample-{train,test}.bin.gz; see data/README.md). */
export function loadBundledSample(): Dataset {
  const dirs = bundledDataDirs();
  const dir = dirs.find((d) => existsSync(join(d, SAMPLE_TRAIN_FILE)) && existsSync(join(d, SAMPLE_TEST_FILE)));
  if (dir === undefined) {
    throw new DataError(`bundled data sample not found: looked for ${SAMPLE_TRAIN_FILE} and ${SAMPLE_TEST_FILE} in ` +
      `${dirs.join(', ')}; run from the repository root or pass a data directory`);
  }
  return { train: loadCifar10([join(dir, SAMPLE_TRAIN_FILE)]), test: loadCifar10([join(dir, SAMPLE_TEST_FILE)]),
    format: 'cifar10', classNames: CIFAR10_CLASSES };
}

// ---------------------------------------------------------------------------------------------------------------
// Batch order

/** The complete state of a BatchOrder: enough to continue exactly where it stopped. */
export interface BatchOrderState {
  seed: number;
  /** Epochs completed so far (0 during the first pass). */
  epoch: number;
  /** Index into the current epoch's permutation of the next image to hand out. */
  position: number;
}

/** 32-bit finaliser of MurmurHash3 (good avalanche), on unsigned values. */
function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Seed of epoch `epoch`'s shuffle from the user seed (integers up to 2^53 use both 32-bit halves). */
function epochSeed(seed: number, epoch: number): number {
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 4294967296) >>> 0;
  return mix32(mix32(mix32(lo ^ 0x9e3779b9) ^ hi) ^ mix32((epoch >>> 0) + 0x632be5ab));
}

/** The permutation of 0..count-1 used in `epoch` for `seed` (Fisher-Yates with a per-epoch PRNG). */
export function epochPermutation(count: number, seed: number, epoch: number): Uint32Array {
  const perm = new Uint32Array(count);
  for (let i = 0; i < count; i++) perm[i] = i;
  const rand = mulberry32(epochSeed(seed, epoch));
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = perm[i]!;
    perm[i] = perm[j]!;
    perm[j] = t;
  }
  return perm;
}

function checkInt(name: string, v: number, min: number): void {
  if (!Number.isSafeInteger(v) || v < min) throw new RangeError(`BatchOrder: ${name} must be an integer >= ${min}, got ${v}`);
}

/**
 * Deterministic shuffled batches. Each epoch is a fresh permutation derived only from (seed, epoch), so the state
 * { seed, epoch, position } restores the order exactly. Batches never straddle epochs: when fewer than batchSize
 * images are left in the current epoch, they are skipped and the next epoch starts (like drop_last); every batch
 * therefore holds distinct images.
 */
export class BatchOrder {
  readonly count: number;
  readonly seed: number;
  private epochNo: number;
  private pos: number;
  private perm: Uint32Array;

  constructor(count: number, seed: number) {
    checkInt('count', count, 1);
    checkInt('seed', seed, 0);
    this.count = count;
    this.seed = seed;
    this.epochNo = 0;
    this.pos = 0;
    this.perm = epochPermutation(count, seed, 0);
  }

  /** Epochs completed so far. */
  get epoch(): number {
    return this.epochNo;
  }

  /** The next batch's image indices (a new array). */
  next(batchSize: number): Uint32Array {
    checkInt('batchSize', batchSize, 1);
    if (batchSize > this.count) throw new RangeError(`BatchOrder: batch size ${batchSize} exceeds the ${this.count} images`);
    if (this.pos + batchSize > this.count) {
      this.epochNo += 1;
      this.pos = 0;
      this.perm = epochPermutation(this.count, this.seed, this.epochNo);
    }
    const out = this.perm.slice(this.pos, this.pos + batchSize);
    this.pos += batchSize;
    return out;
  }

  state(): BatchOrderState {
    return { seed: this.seed, epoch: this.epochNo, position: this.pos };
  }

  static restore(count: number, state: BatchOrderState): BatchOrder {
    const o = new BatchOrder(count, state.seed);
    checkInt('epoch', state.epoch, 0);
    checkInt('position', state.position, 0);
    if (state.position > count) throw new RangeError(`BatchOrder: position ${state.position} exceeds the ${count} images`);
    o.epochNo = state.epoch;
    o.pos = state.position;
    if (state.epoch !== 0) o.perm = epochPermutation(count, state.seed, state.epoch);
    return o;
  }
}

/** Copies the images at `indices` into one NHWC uint8 batch (into `out` when given). */
export function gatherBatch(set: ImageSet, indices: ArrayLike<number>, out?: Uint8Array): Uint8Array {
  const stride = set.height * set.width * set.channels;
  const n = indices.length;
  const dst = out ?? new Uint8Array(n * stride);
  if (dst.length < n * stride) throw new RangeError(`gatherBatch: out has ${dst.length} bytes, need ${n * stride}`);
  for (let i = 0; i < n; i++) {
    const k = indices[i]!;
    if (!Number.isInteger(k) || k < 0 || k >= set.count) {
      throw new RangeError(`gatherBatch: index ${k} out of range for ${set.count} images (${set.source})`);
    }
    dst.set(set.images.subarray(k * stride, (k + 1) * stride), i * stride);
  }
  return dst;
}

/** The labels at `indices`. */
export function gatherLabels(set: ImageSet, indices: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const k = indices[i]!;
    if (!Number.isInteger(k) || k < 0 || k >= set.count) {
      throw new RangeError(`gatherLabels: index ${k} out of range for ${set.count} images (${set.source})`);
    }
    out[i] = set.labels[k]!;
  }
  return out;
}
