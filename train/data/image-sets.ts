// Image data sets, platform-free: CIFAR-10 binary batches and Fashion-MNIST IDX files parsed from bytes and fully
// validated, the choice of files among a folder's listing or the files a page was given, a seedable shuffling
// batch order that can be saved and restored exactly, and batch gathering. Reading files (and gunzipping them)
// is the platform's: train/data/datasets.ts in Node, studio/ in a page; both validate with this code and these
// messages.
//
// Every parser validates its input completely and throws DataError (naming the file and the problem) rather
// than returning part of a file. Images are returned as uint8 NHWC (the project's layout), 0..255.
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
// Gzip (the decompression itself is the platform's)

/**
 * Whether `bytes` (the file `name`) are gzip data: they start with the gzip magic bytes 1f 8b. A name ending in
 * .gz whose content does not is refused.
 */
export function isGzipData(bytes: Uint8Array, name: string): boolean {
  const isGzip = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
  if (name.endsWith('.gz') && !isGzip) {
    throw new DataError(`${name}: not a gzip file (name ends in .gz but the content does not start with the gzip magic 1f 8b)`);
  }
  return isGzip;
}

/** The error of gzip data that does not decompress. */
export function corruptGzipError(name: string, e: unknown): DataError {
  const msg = e instanceof Error ? e.message : String(e);
  return new DataError(`${name}: corrupt or truncated gzip data (${msg})`, { cause: e });
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

/** An IDX image set (parseIdxImages of the file `imagesName`) with the labels of its IDX label file: as many as images. */
export function withIdxLabels(set: ImageSet, imagesName: string, labels: Uint8Array, labelsName: string): ImageSet {
  const parsed = parseIdxLabels(labels, labelsName);
  if (parsed.length !== set.count) {
    throw new DataError(`${labelsName}: ${parsed.length} labels, but ${imagesName} has ${set.count} images`);
  }
  return { ...set, labels: parsed, source: `${imagesName} (labels ${labelsName})` };
}

// ---------------------------------------------------------------------------------------------------------------
// Which files: in a folder's listing (Node) or among the files a page was given

/** Where a data set's files are: `where` names the place in messages, `has` says whether a file is there, `pathOf` its path. */
export interface FilePlace {
  where: string;
  /** The file names there (a folder's listing). */
  names: readonly string[];
  has(name: string): boolean;
  pathOf(name: string): string;
}

/** The CIFAR-10 batches of a place: every data_batch_<n>.bin[.gz] in numeric order and test_batch.bin[.gz]; undefined when it has none. */
export function findCifar10Files(place: FilePlace): { train: string[]; test: string } | undefined {
  const byBatch = new Map<number, string>();
  for (const f of place.names) {
    const m = /^data_batch_(\d+)\.bin(\.gz)?$/.exec(f);
    if (!m) continue;
    const k = Number(m[1]);
    const prev = byBatch.get(k);
    // Prefer the uncompressed file when both exist (same content, faster).
    if (prev === undefined || prev.endsWith('.gz')) byBatch.set(k, f);
  }
  const testName = ['test_batch.bin', 'test_batch.bin.gz'].find((n) => place.has(n));
  const test = testName === undefined ? undefined : place.pathOf(testName);
  if (byBatch.size === 0 && test === undefined) return undefined;
  if (byBatch.size === 0) {
    throw new DataError(`${place.where}: has ${test} but no CIFAR-10 training batches (looked for data_batch_<n>.bin or data_batch_<n>.bin.gz)`);
  }
  if (test === undefined) {
    throw new DataError(`${place.where}: has CIFAR-10 training batches but no test batch (looked for ${place.pathOf('test_batch.bin')} ` +
      `and ${place.pathOf('test_batch.bin.gz')})`);
  }
  return { train: [...byBatch.keys()].sort((a, b) => a - b).map((k) => place.pathOf(byBatch.get(k)!)), test };
}

export interface FashionMnistFiles {
  trainImages: string;
  trainLabels: string;
  testImages: string;
  testLabels: string;
}

/** The four Fashion-MNIST IDX files of a place (.gz or raw); undefined when it has neither image file. */
export function findFashionMnistFiles(place: FilePlace): FashionMnistFiles | undefined {
  const find = (base: string): string | undefined => {
    const name = [`${base}.gz`, base].find((n) => place.has(n));
    return name === undefined ? undefined : place.pathOf(name);
  };
  if (find('train-images-idx3-ubyte') === undefined && find('t10k-images-idx3-ubyte') === undefined) return undefined;
  const need = (base: string): string => {
    const p = find(base);
    if (p === undefined) {
      throw new DataError(`${place.where}: Fashion-MNIST file ${base} missing (looked for ${place.pathOf(base + '.gz')} and ${place.pathOf(base)})`);
    }
    return p;
  };
  return { trainImages: need('train-images-idx3-ubyte'), trainLabels: need('train-labels-idx1-ubyte'), testImages: need('t10k-images-idx3-ubyte'),
    testLabels: need('t10k-labels-idx1-ubyte') };
}

/** What loadDataset and a page look for, for the message when none of it is there. */
export const DATA_FILES_LOOKED_FOR = 'CIFAR-10 data_batch_<n>.bin[.gz] + test_batch.bin[.gz], and Fashion-MNIST train-images-idx3-ubyte[.gz] / ' +
  't10k-images-idx3-ubyte[.gz] with their labels';

/** Class names from a batches.meta.txt (one per line); `fallback` unless it names exactly ten. */
export function parseClassNames(text: string, fallback: string[]): string[] {
  const names = text.split(/\r?\n/).map((s) => s.trim()).filter((s) => s.length > 0);
  return names.length === 10 ? names : fallback;
}

/** Whether a file name is one that datasetOfFiles looks at (a chosen folder's other files need not be read). */
export function isDataFileName(name: string): boolean {
  return /^(data_batch_\d+\.bin|test_batch\.bin|(train|t10k)-(images-idx3|labels-idx1)-ubyte)(\.gz)?$|^batches\.meta\.txt$/.test(name);
}

/** A file's name and its bytes, already gunzipped. */
export interface NamedBytes {
  name: string;
  bytes: Uint8Array;
}

/**
 * The data set among `files` (e.g. chosen in a page): CIFAR-10 batches (with batches.meta.txt for class names when
 * given) or the four Fashion-MNIST files, found and validated as loadDataset finds and validates a folder's.
 */
export function datasetOfFiles(files: readonly NamedBytes[], where = 'the chosen files'): Dataset {
  const byName = new Map(files.map((f) => [f.name, f.bytes]));
  const place: FilePlace = { where, names: files.map((f) => f.name), has: (n) => byName.has(n), pathOf: (n) => n };
  const bytes = (name: string): Uint8Array => byName.get(name)!;
  const cifar = findCifar10Files(place);
  if (cifar) {
    const meta = byName.get('batches.meta.txt');
    return {
      train: concatSets(cifar.train.map((n) => parseCifar10(bytes(n), n))),
      test: parseCifar10(bytes(cifar.test), cifar.test),
      format: 'cifar10',
      classNames: meta ? parseClassNames(new TextDecoder().decode(meta), CIFAR10_CLASSES) : CIFAR10_CLASSES,
    };
  }
  const fashion = findFashionMnistFiles(place);
  if (fashion) {
    return {
      train: withIdxLabels(parseIdxImages(bytes(fashion.trainImages), fashion.trainImages), fashion.trainImages, bytes(fashion.trainLabels), fashion.trainLabels),
      test: withIdxLabels(parseIdxImages(bytes(fashion.testImages), fashion.testImages), fashion.testImages, bytes(fashion.testLabels), fashion.testLabels),
      format: 'fashion-mnist',
      classNames: FASHION_MNIST_CLASSES,
    };
  }
  throw new DataError(`${where}: no data set found (looked for ${DATA_FILES_LOOKED_FOR}); got ${files.map((f) => f.name).join(', ') || 'no files'}`);
}

// ---------------------------------------------------------------------------------------------------------------
// The bundled sample (data/; where it is found is the platform's)

export const SAMPLE_TRAIN_FILE = 'cifar10-sample-train.bin.gz';
export const SAMPLE_TEST_FILE = 'cifar10-sample-test.bin.gz';

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
