// The platform-free parts a page shares with `node train.js` (issue 24) give what the Node code gave before the
// split: the checkpoint container the same bytes (a golden SHA-256 of a fixed checkpoint, taken with the encoder
// as it was, Buffer-based), the data fingerprint the same digest (WebCrypto against node:crypto over the same
// framing, and the sample's digest before the split); the choice of data files among a page's files finds and
// refuses as a folder's does, with the same messages.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { idxFile } from '../helpers/causality.js';
import { decodeCheckpoint, encodeCheckpointBytes } from '../../train/run/checkpoint-format.js';
import { encodeCheckpoint } from '../../train/run/checkpoint-file.js';
import { DataError, datasetOfFiles, isDataFileName, isGzipData, loadBundledSample, loadDataset, type NamedBytes } from '../../train/data/datasets.js';
import { dataFingerprint, fingerprintBytes, sameData } from '../../train/data/fingerprint.js';

const tmp = mkdtempSync(join(tmpdir(), 'agave-split-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** A fixed checkpoint: odd floats (-0, a subnormal, the largest float), an empty array, non-ASCII metadata. */
function golden(): { meta: Record<string, unknown>; arrays: Record<string, Float32Array> } {
  return {
    meta: { version: 1, step: 12, text: 'snow \u2603, e\u0301, \ud83d\ude00', n: [1, 2.5, null] },
    arrays: { params: Float32Array.from({ length: 37 }, (_, i) => Math.sin(i) * 1e3), ema: Float32Array.from([0, -0, 1e-40, 3.4e38, -1.5]), empty: new Float32Array(0) },
  };
}

describe('the checkpoint container, platform-free', () => {
  it('encodes a fixed checkpoint to the bytes the Buffer-based encoder wrote (452 bytes, SHA-256 067c1f4f...), and Node writes those bytes', () => {
    const bytes = encodeCheckpointBytes(golden());
    expect(bytes.length).toBe(452);
    expect(sha256(bytes), 'SHA-256 of the container, taken with the encoder before the split').toBe('067c1f4f49c73def0a76efd806d3e511cda7cd243e140f37ad505d98e445c95f');
    expect(Buffer.compare(encodeCheckpoint(golden()), Buffer.from(bytes)), 'encodeCheckpoint (Node) and encodeCheckpointBytes give the same bytes').toBe(0);
    const back = decodeCheckpoint(bytes, 'golden.agave');
    expect(back.meta).toEqual(golden().meta);
    for (const [k, v] of Object.entries(golden().arrays)) expect(Array.from(back.arrays[k]!).map((x) => Object.is(x, -0) ? '-0' : x), k).toEqual(Array.from(v).map((x) => Object.is(x, -0) ? '-0' : x));
  });

  it('decodes from a view into a larger buffer (a page hands it a slice of an ArrayBuffer)', () => {
    const bytes = encodeCheckpointBytes(golden());
    const big = new Uint8Array(bytes.length + 13);
    big.set(bytes, 7);
    expect(decodeCheckpoint(big.subarray(7, 7 + bytes.length)).meta).toEqual(golden().meta);
  });
});

describe('the data fingerprint (WebCrypto SHA-256)', () => {
  it("is node:crypto's SHA-256 of the train images, train labels, test images and test labels, each after its u64 length; the sample's digest is the one before the split", async () => {
    const d = loadBundledSample();
    const h = createHash('sha256');
    for (const s of [d.train, d.test]) {
      for (const part of [s.images.subarray(0, s.count * s.height * s.width * s.channels), s.labels.subarray(0, s.count)]) {
        const len = Buffer.alloc(8);
        len.writeBigUInt64LE(BigInt(part.length));
        h.update(len).update(part);
      }
    }
    const f = await dataFingerprint(d);
    expect(f.sha256).toBe(h.digest('hex'));
    expect(f.sha256, "the bundled sample's fingerprint before the split").toBe('29eb93f91bd1d0d5db2fbb0c5fe7f639e58adc7ee54c989be9b12fe8279b0703');
    expect(f).toMatchObject({ format: 'cifar10', train: 2000, test: 500, shape: [32, 32, 3] });
    expect(fingerprintBytes(d).length).toBe(2000 * 3073 + 500 * 3073 + 4 * 8);
  });
});

const SAMPLE_DIR = fileURLToPath(new URL('../../data/', import.meta.url));
const sampleRaw = (split: 'train' | 'test'): Uint8Array => gunzipSync(readFileSync(join(SAMPLE_DIR, `cifar10-sample-${split}.bin.gz`)));

function expectDataError(fn: () => unknown, message: string): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, `expected a DataError: ${message}`).toBeInstanceOf(DataError);
  expect((err as Error).message).toBe(message);
}

describe("a page's data files (datasetOfFiles): found and validated as loadDataset does a folder", () => {
  it('the sample as data_batch_1.bin + test_batch.bin: the same images, labels and fingerprint as the bundled sample', async () => {
    const files: NamedBytes[] = [{ name: 'data_batch_1.bin', bytes: sampleRaw('train') }, { name: 'test_batch.bin', bytes: sampleRaw('test') }];
    const d = datasetOfFiles(files);
    const ref = loadBundledSample();
    expect(d.format).toBe('cifar10');
    expect(Buffer.compare(Buffer.from(d.train.images), Buffer.from(ref.train.images))).toBe(0);
    expect(Buffer.compare(Buffer.from(d.test.labels), Buffer.from(ref.test.labels))).toBe(0);
    expect(sameData(await dataFingerprint(d), await dataFingerprint(ref))).toBe(true);
    expect(d.train.source).toBe('data_batch_1.bin');
  });

  it('Fashion-MNIST: the four IDX files (gzip\'d names are found as a folder\'s are)', () => {
    const imgs = idxFile(2051, [3, 28, 28], Uint8Array.from({ length: 3 * 784 }, (_, i) => i % 251));
    const labels = idxFile(2049, [3], Uint8Array.from([0, 1, 2]));
    const d = datasetOfFiles([
      { name: 'train-images-idx3-ubyte.gz', bytes: imgs }, { name: 'train-labels-idx1-ubyte', bytes: labels },
      { name: 't10k-images-idx3-ubyte', bytes: imgs }, { name: 't10k-labels-idx1-ubyte.gz', bytes: labels },
    ]);
    expect(d.format).toBe('fashion-mnist');
    expect([d.train.count, d.train.height, d.train.channels, [...d.test.labels]]).toEqual([3, 28, 1, [0, 1, 2]]);
  });

  it('refuses incomplete or wrong files with the messages of a folder (the chosen files for the folder, names for paths)', () => {
    const train = sampleRaw('train');
    const test = sampleRaw('test');
    expectDataError(() => datasetOfFiles([{ name: 'data_batch_1.bin', bytes: train }]),
      'the chosen files: has CIFAR-10 training batches but no test batch (looked for test_batch.bin and test_batch.bin.gz)');
    expectDataError(() => datasetOfFiles([{ name: 'test_batch.bin', bytes: test }]),
      'the chosen files: has test_batch.bin but no CIFAR-10 training batches (looked for data_batch_<n>.bin or data_batch_<n>.bin.gz)');
    expectDataError(() => datasetOfFiles([{ name: 'train-images-idx3-ubyte', bytes: idxFile(2051, [1, 28, 28], new Uint8Array(784)) }, { name: 't10k-images-idx3-ubyte', bytes: idxFile(2051, [1, 28, 28], new Uint8Array(784)) }]),
      'the chosen files: Fashion-MNIST file train-labels-idx1-ubyte missing (looked for train-labels-idx1-ubyte.gz and train-labels-idx1-ubyte)');
    expectDataError(() => datasetOfFiles([{ name: 'data_batch_1.bin', bytes: train.subarray(0, 3073 * 2 + 5) }, { name: 'test_batch.bin', bytes: test }]),
      'data_batch_1.bin: size 6151 bytes is not a multiple of the CIFAR-10 record size 3073 (2 whole records and 5 bytes left over: truncated or not CIFAR-10 binary)');
    expectDataError(() => datasetOfFiles([{ name: 'notes.txt', bytes: new Uint8Array(3) }]),
      'the chosen files: no data set found (looked for CIFAR-10 data_batch_<n>.bin[.gz] + test_batch.bin[.gz], and Fashion-MNIST train-images-idx3-ubyte[.gz] / t10k-images-idx3-ubyte[.gz] with their labels); got notes.txt');
    expectDataError(() => isGzipData(new Uint8Array([1, 2, 3]), 'test_batch.bin.gz'),
      'test_batch.bin.gz: not a gzip file (name ends in .gz but the content does not start with the gzip magic 1f 8b)');
    expect(isGzipData(gzipSync(Buffer.from('x')), 'anything')).toBe(true);
    expect(['data_batch_12.bin.gz', 'test_batch.bin', 'batches.meta.txt', 't10k-labels-idx1-ubyte.gz', 'train-images-idx3-ubyte'].every(isDataFileName)).toBe(true);
    expect(['readme.html', 'data_batch_1.bin.gz.part', 'cifar-10-binary.tar.gz', 'batches.meta.txt.gz'].some(isDataFileName)).toBe(false);
  });

  it('a folder with the same files gives the same messages, with paths (loadDataset: the shared choice of files)', () => {
    const folder = mkdtempSync(join(tmp, 'only-train-'));
    writeFileSync(join(folder, 'data_batch_1.bin'), sampleRaw('train'));
    expectDataError(() => loadDataset(folder), `${folder}: has CIFAR-10 training batches but no test batch (looked for ${join(folder, 'test_batch.bin')} and ${join(folder, 'test_batch.bin.gz')})`);
  });
});
