// Image data sets in Node: CIFAR-10 (binary batches) and Fashion-MNIST (IDX) read from files, gzip'd or raw, and
// the bundled CIFAR-10 sample. Parsing and validation, the choice of files in a folder, the batch order and
// batch gathering are platform-free (train/data/image-sets.ts, re-exported here): a page validates its files
// with the same code and messages.
//
// Every loader validates its input completely and throws DataError (naming the file and the problem) rather
// than loading part of a file. Images are returned as uint8 NHWC (the project's layout), 0..255.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { fsErrorCode } from '../common/fs-errors.js';
import {
  CIFAR10_CLASSES, DataError, FASHION_MNIST_CLASSES, SAMPLE_TEST_FILE, SAMPLE_TRAIN_FILE, concatSets, corruptGzipError,
  findCifar10Files, findFashionMnistFiles, isGzipData, parseCifar10, parseClassNames, parseIdxImages, withIdxLabels, type Dataset,
  type FashionMnistOptions, type FilePlace, type ImageSet,
} from './image-sets.js';

export * from './image-sets.js';

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
  if (!isGzipData(raw, path)) return new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  try {
    const out = gunzipSync(raw);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (e) {
    throw corruptGzipError(path, e);
  }
}

/** Loads and concatenates CIFAR-10 binary batch files (`.bin` or `.bin.gz`). */
export function loadCifar10(paths: string[]): ImageSet {
  if (paths.length === 0) throw new DataError('loadCifar10: no files given');
  return concatSets(paths.map((p) => parseCifar10(readMaybeGzip(p), p)));
}

/**
 * Loads a Fashion-MNIST (or MNIST) IDX image file and, when given, its label file. Without a label file every
 * label is 0. Channels is 1.
 */
export function loadFashionMnist(imagesPath: string, labelsPath?: string, options: FashionMnistOptions = {}): ImageSet {
  const set = parseIdxImages(readMaybeGzip(imagesPath), imagesPath, options);
  if (labelsPath === undefined) return set;
  return withIdxLabels(set, imagesPath, readMaybeGzip(labelsPath), labelsPath);
}

// ---------------------------------------------------------------------------------------------------------------
// Directories and the bundled sample

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function folderPlace(dir: string): FilePlace {
  return { where: dir, names: readdirSync(dir), has: (n) => existsSync(join(dir, n)), pathOf: (n) => join(dir, n) };
}

function readClassNames(dir: string, fallback: string[]): string[] {
  const p = join(dir, 'batches.meta.txt');
  return existsSync(p) ? parseClassNames(readFileSync(p, 'utf8'), fallback) : fallback;
}

function loadCifarDir(dir: string): Dataset | undefined {
  const files = findCifar10Files(folderPlace(dir));
  if (files === undefined) return undefined;
  return { train: loadCifar10(files.train), test: loadCifar10([files.test]), format: 'cifar10',
    classNames: readClassNames(dir, CIFAR10_CLASSES) };
}

function loadFashionDir(dir: string): Dataset | undefined {
  const f = findFashionMnistFiles(folderPlace(dir));
  if (f === undefined) return undefined;
  return { train: loadFashionMnist(f.trainImages, f.trainLabels), test: loadFashionMnist(f.testImages, f.testLabels), format: 'fashion-mnist',
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
