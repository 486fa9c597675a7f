// Data loading: the bundled CIFAR-10 sample and small generated CIFAR-10 / Fashion-MNIST files (always), the
// full data sets from $AGAVE_DATA_DIR (only when it is set; CI sets it), corrupt inputs, batch order.
// Nothing here reads outside the repository unless AGAVE_DATA_DIR names a folder.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idxFile } from '../helpers/causality.js';
import {
  BatchOrder, CIFAR10_RECORD_BYTES, DataError, epochPermutation, gatherBatch, gatherLabels, loadBundledSample, loadCifar10,
  loadDataset, loadFashionMnist, type ImageSet,
} from '../../train/data/datasets.js';

/** Optional folder with the full data sets: cifar10/ (data_batch_1, test_batch) and fashion-mnist/ (the four IDX files). */
const DATA_DIR = process.env.AGAVE_DATA_DIR ? resolve(process.env.AGAVE_DATA_DIR) : '';
const CIFAR = DATA_DIR ? join(DATA_DIR, 'cifar10') : '';
const FASHION = DATA_DIR ? join(DATA_DIR, 'fashion-mnist') : '';
/** Suite titles say why they were skipped (vitest lists skipped suites by title). */
const needsData = (title: string): string => (DATA_DIR ? title : `${title} [skipped: AGAVE_DATA_DIR is not set]`);
if (!DATA_DIR) console.info('data.test.ts: AGAVE_DATA_DIR is not set: the full CIFAR-10 / Fashion-MNIST tests are skipped');

const SAMPLE_DIR = fileURLToPath(new URL('../../data/', import.meta.url));
const sampleRaw = (split: 'train' | 'test'): Uint8Array => gunzipSync(readFileSync(join(SAMPLE_DIR, `cifar10-sample-${split}.bin.gz`)));
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

// Fingerprints of the full CIFAR-10 files (the shared copy the sample was cut from; see data/README.md).
const TEST_BATCH_SHA256 = 'a1a6452109f7ce681c3605809b6b1212fec9c775f8a1a25bd18aa6e5738c83e9';
const TEST_BATCH_RECORD0_SHA256 = '2475b304d871ee811c3dbb7ca20b19d69af1df49fb20206af018265e06c655c4';
const DATA_BATCH_1_RECORD0_SHA256 = '134d8e8173244001520acb28c4527a220ab2616eb2956376c6f1146d2aabf3de';
// sha256 of the sample's raw (gunzipped) files, as published in data/README.md.
const SAMPLE_SHA256 = {
  train: '69fe07bf997c878ac2c92f584def45370b1595e73f93da456bdae51e41df3691',
  test: '44ec6756133b8401c64f9750f8ed423d2dce97dc85872291679dbf2e35ebfc05',
};

let tmp = '';
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'agave-data-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

/** NHWC back to CIFAR-10 records (label + planar RGB). */
function toRecords(set: ImageSet): Uint8Array {
  const out = new Uint8Array(set.count * CIFAR10_RECORD_BYTES);
  for (let n = 0; n < set.count; n++) {
    const r = n * CIFAR10_RECORD_BYTES;
    out[r] = set.labels[n]!;
    for (let p = 0; p < 1024; p++) {
      for (let ch = 0; ch < 3; ch++) out[r + 1 + ch * 1024 + p] = set.images[(n * 1024 + p) * 3 + ch]!;
    }
  }
  return out;
}

function classCounts(labels: Uint8Array): number[] {
  const c = new Array<number>(10).fill(0);
  for (const l of labels) c[l]! += 1;
  return c;
}

function channelMeans(set: ImageSet): number[] {
  const sums = [0, 0, 0];
  for (let i = 0; i < set.images.length; i++) sums[i % 3]! += set.images[i]!;
  return sums.map((s) => s / (255 * set.count * set.height * set.width));
}

function expectDataError(fn: () => unknown, ...parts: (string | RegExp)[]): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected a DataError').toBeInstanceOf(DataError);
  const msg = (err as Error).message;
  for (const p of parts) {
    if (typeof p === 'string') expect(msg).toContain(p);
    else expect(msg).toMatch(p);
  }
}

/** Deterministic pseudo-random bytes (a 32-bit LCG): fixture pixels. */
function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

describe('bundled sample', () => {
  it('loads with the advertised counts and class balance', () => {
    const ds = loadBundledSample();
    expect(ds.train.count).toBe(2000);
    expect(ds.test.count).toBe(500);
    expect(classCounts(ds.train.labels)).toEqual(new Array(10).fill(200));
    expect(classCounts(ds.test.labels)).toEqual(new Array(10).fill(50));
    expect([ds.train.height, ds.train.width, ds.train.channels]).toEqual([32, 32, 3]);
    expect(loadDataset().train.count).toBe(2000);
    expect(loadDataset('sample').test.count).toBe(500);
  });

  it('is the published bytes, and real CIFAR-10: each split starts with the first record of its CIFAR-10 file', () => {
    const train = sampleRaw('train');
    const test = sampleRaw('test');
    expect(sha256(train)).toBe(SAMPLE_SHA256.train);
    expect(sha256(test)).toBe(SAMPLE_SHA256.test);
    // The first record of each file is always selected (the first of its class); its hash is that of the full file's.
    expect(sha256(test.subarray(0, CIFAR10_RECORD_BYTES))).toBe(TEST_BATCH_RECORD0_SHA256);
    expect(sha256(train.subarray(0, CIFAR10_RECORD_BYTES))).toBe(DATA_BATCH_1_RECORD0_SHA256);
    // Natural-image statistics (CIFAR-10's channel means are 0.49, 0.48, 0.45).
    const means = channelMeans(loadBundledSample().train);
    [0.4914, 0.4822, 0.4465].forEach((want, ch) => expect(Math.abs(means[ch]! - want), `channel ${ch} mean ${means[ch]}`).toBeLessThan(0.02));
  });

  it('NHWC conversion is exact: converting back reproduces the raw records', () => {
    const raw = sampleRaw('test');
    const test = loadBundledSample().test;
    expect(sha256(toRecords(test))).toBe(sha256(raw));
    // Pixel (y=5, x=7) of image 3, channel G, is byte 1 + 1024 + 5*32 + 7 of record 3.
    expect(test.images[((3 * 32 + 5) * 32 + 7) * 3 + 1]).toBe(raw[3 * CIFAR10_RECORD_BYTES + 1 + 1024 + 5 * 32 + 7]);
  });

  it('concatenates several files in order (plain and gzip)', () => {
    const raw = sampleRaw('test');
    const test = loadBundledSample().test;
    const a = join(tmp, 'data_batch_a.bin');
    writeFileSync(a, raw.subarray(0, 3 * CIFAR10_RECORD_BYTES));
    const b = join(tmp, 'data_batch_b.bin.gz');
    writeFileSync(b, gzipSync(raw.subarray(3 * CIFAR10_RECORD_BYTES, 5 * CIFAR10_RECORD_BYTES)));
    const s = loadCifar10([a, b]);
    expect(s.count).toBe(5);
    expect(s.images).toEqual(test.images.subarray(0, 5 * 3072));
    expect(s.labels).toEqual(test.labels.subarray(0, 5));
  });

  it('stays under 8 MB', () => {
    const total = ['cifar10-sample-train.bin.gz', 'cifar10-sample-test.bin.gz']
      .map((f) => readFileSync(join(SAMPLE_DIR, f)).length).reduce((a, b) => a + b, 0);
    expect(total).toBeLessThan(8_000_000);
  });
});

describe('CIFAR-10 folder (generated fixture)', () => {
  it('loadDataset finds every data_batch_<n> in numeric order, the test batch and batches.meta.txt', () => {
    const raw = sampleRaw('train');
    const rec = (i: number): Uint8Array => raw.subarray(i * CIFAR10_RECORD_BYTES, (i + 1) * CIFAR10_RECORD_BYTES);
    const dir = join(tmp, 'cifar-fixture');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'data_batch_10.bin'), Buffer.concat([rec(4), rec(5)]));
    writeFileSync(join(dir, 'data_batch_2.bin.gz'), gzipSync(Buffer.concat([rec(2), rec(3)])));
    writeFileSync(join(dir, 'data_batch_1.bin.gz'), gzipSync(Buffer.concat([rec(0), rec(1)])));
    writeFileSync(join(dir, 'test_batch.bin.gz'), gzipSync(rec(6)));
    const names = ['plane', 'car', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
    writeFileSync(join(dir, 'batches.meta.txt'), names.join('\n') + '\n\n');
    const ds = loadDataset(dir);
    expect(ds.format).toBe('cifar10');
    expect([ds.train.count, ds.test.count]).toEqual([6, 1]);
    expect(ds.classNames).toEqual(names);
    const sample = loadBundledSample().train;
    expect(ds.train.images).toEqual(sample.images.subarray(0, 6 * 3072));
    expect(ds.train.labels).toEqual(sample.labels.subarray(0, 6));
    expect(ds.test.images).toEqual(sample.images.subarray(6 * 3072, 7 * 3072));
  });
});

describe('Fashion-MNIST (generated IDX fixture)', () => {
  const nTrain = 30;
  const nTest = 20;
  const trainImages = bytes(nTrain * 784, 1);
  const testImages = bytes(nTest * 784, 2);
  const trainLabels = Uint8Array.from({ length: nTrain }, (_, i) => i % 10);
  const testLabels = Uint8Array.from({ length: nTest }, (_, i) => (7 * i) % 10);
  let dir = '';
  beforeAll(() => {
    dir = join(tmp, 'fashion-fixture');
    mkdirSync(dir, { recursive: true });
    // gzip'd and plain files, as both occur in the wild
    writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(idxFile(2051, [nTrain, 28, 28], trainImages)));
    writeFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(idxFile(2049, [nTrain], trainLabels)));
    writeFileSync(join(dir, 't10k-images-idx3-ubyte'), idxFile(2051, [nTest, 28, 28], testImages));
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(idxFile(2049, [nTest], testLabels)));
  });

  it('loadDataset loads train and test with labels; the bytes are the IDX payload unchanged', () => {
    const ds = loadDataset(dir);
    expect(ds.format).toBe('fashion-mnist');
    expect([ds.train.count, ds.test.count]).toEqual([nTrain, nTest]);
    expect([ds.train.height, ds.train.width, ds.train.channels]).toEqual([28, 28, 1]);
    expect(ds.train.images).toEqual(trainImages);
    expect(ds.test.images).toEqual(testImages);
    expect(ds.train.labels).toEqual(trainLabels);
    expect(ds.test.labels).toEqual(testLabels);
    expect(classCounts(ds.train.labels)).toEqual(new Array(10).fill(3));
    expect(ds.classNames).toHaveLength(10);
  });

  it('loads images without labels (labels all 0)', () => {
    const s = loadFashionMnist(join(dir, 't10k-images-idx3-ubyte'));
    expect(s.count).toBe(nTest);
    expect(s.images).toEqual(testImages);
    expect(s.labels.every((l) => l === 0)).toBe(true);
  });
});

describe.skipIf(!DATA_DIR)(needsData('CIFAR-10, full copy in $AGAVE_DATA_DIR/cifar10'), () => {
  let test: ImageSet;
  beforeAll(() => {
    test = loadCifar10([join(CIFAR, 'test_batch.bin.gz')]);
  });

  it('loads the full test batch with the documented statistics', () => {
    expect(test.count).toBe(10000);
    expect([test.height, test.width, test.channels]).toEqual([32, 32, 3]);
    expect(test.images.length).toBe(10000 * 32 * 32 * 3);
    expect(classCounts(test.labels)).toEqual(new Array(10).fill(1000));
    const want = [0.49421, 0.48513, 0.45041];
    channelMeans(test).forEach((m, ch) => expect(Math.abs(m - want[ch]!), `channel ${ch} mean ${m}`).toBeLessThan(1e-4));
  });

  it('NHWC conversion is exact: converting back reproduces test_batch.bin (sha256)', () => {
    const raw = gunzipSync(readFileSync(join(CIFAR, 'test_batch.bin.gz')));
    expect(sha256(raw)).toBe(TEST_BATCH_SHA256);
    expect(sha256(toRecords(test))).toBe(TEST_BATCH_SHA256);
    expect(sha256(raw.subarray(0, CIFAR10_RECORD_BYTES))).toBe(TEST_BATCH_RECORD0_SHA256);
    expect(test.images[((3 * 32 + 5) * 32 + 7) * 3 + 1]).toBe(raw[3 * CIFAR10_RECORD_BYTES + 1 + 1024 + 5 * 32 + 7]);
  });

  it('loadDataset on the folder finds data_batch_1 and test_batch', () => {
    const ds = loadDataset(CIFAR);
    expect(ds.format).toBe('cifar10');
    expect(ds.train.count).toBe(10000);
    expect(ds.test.count).toBe(10000);
    expect(ds.classNames[0]).toBe('airplane');
    expect(ds.classNames[9]).toBe('truck');
    expect(ds.train.source).toContain('data_batch_1.bin.gz');
    expect(sha256(toRecords(ds.train).subarray(0, CIFAR10_RECORD_BYTES))).toBe(DATA_BATCH_1_RECORD0_SHA256);
  });

  it('the bundled sample is its documented selection: the first 50 test records of each class, in order', () => {
    const sample = loadBundledSample().test;
    const seen = new Array<number>(10).fill(0);
    const picked: number[] = [];
    for (let i = 0; i < test.count; i++) {
      const l = test.labels[i]!;
      if (seen[l]! < 50) {
        seen[l]! += 1;
        picked.push(i);
      }
    }
    expect(picked).toHaveLength(sample.count);
    const same = picked.filter((src, k) => sample.labels[k] === test.labels[src] &&
      Buffer.from(sample.images.subarray(k * 3072, (k + 1) * 3072)).equals(test.images.subarray(src * 3072, (src + 1) * 3072)));
    expect(same.length).toBe(picked.length);
  });
});

describe.skipIf(!DATA_DIR)(needsData('Fashion-MNIST, full copy in $AGAVE_DATA_DIR/fashion-mnist'), () => {
  it('loadDataset loads train and test with labels', () => {
    const ds = loadDataset(FASHION);
    expect(ds.format).toBe('fashion-mnist');
    expect(ds.train.count).toBe(60000);
    expect(ds.test.count).toBe(10000);
    expect([ds.train.height, ds.train.width, ds.train.channels]).toEqual([28, 28, 1]);
    expect(ds.train.images.length).toBe(60000 * 784);
    expect(classCounts(ds.train.labels)).toEqual(new Array(10).fill(6000));
    expect(classCounts(ds.test.labels)).toEqual(new Array(10).fill(1000));
    // Bytes are the IDX payload unchanged.
    const raw = gunzipSync(readFileSync(join(FASHION, 't10k-images-idx3-ubyte.gz')));
    expect(Buffer.from(ds.test.images).equals(raw.subarray(16))).toBe(true);
  });

  it('loads images without labels (labels all 0)', () => {
    const s = loadFashionMnist(join(FASHION, 't10k-images-idx3-ubyte.gz'));
    expect(s.count).toBe(10000);
    expect(s.labels.every((l) => l === 0)).toBe(true);
  });
});

it.skipIf(!DATA_DIR)(needsData('AGAVE_DATA_DIR holds cifar10/ and fashion-mnist/ (the suites above read them)'), () => {
  expect(existsSync(CIFAR), CIFAR).toBe(true);
  expect(existsSync(FASHION), FASHION).toBe(true);
});

describe('corrupt inputs give a DataError naming the file and the problem', () => {
  const rec = (label: number): Uint8Array => {
    const r = new Uint8Array(CIFAR10_RECORD_BYTES).fill(7);
    r[0] = label;
    return r;
  };
  const idx = (magic: number, dims: number[], payload: number): Uint8Array => {
    const b = Buffer.alloc(4 + 4 * dims.length + payload);
    b.writeInt32BE(magic, 0);
    dims.forEach((d, i) => b.writeInt32BE(d, 4 + 4 * i));
    return b;
  };

  it('missing file', () => {
    const p = join(tmp, 'nope', 'data_batch_1.bin');
    expectDataError(() => loadCifar10([p]), p, 'not found');
    expectDataError(() => loadDataset(join(tmp, 'no-such-dir')), 'no-such-dir', 'not found');
  });

  it('truncated record', () => {
    const p = join(tmp, 'trunc.bin');
    writeFileSync(p, Buffer.concat([rec(1), rec(2).subarray(0, 100)]));
    expectDataError(() => loadCifar10([p]), p, 'not a multiple of', '3073');
  });

  it('empty file', () => {
    const p = join(tmp, 'empty.bin');
    writeFileSync(p, new Uint8Array(0));
    expectDataError(() => loadCifar10([p]), p, 'no CIFAR-10 records');
  });

  it('label byte > 9', () => {
    const p = join(tmp, 'label12.bin.gz');
    writeFileSync(p, gzipSync(Buffer.concat([rec(3), rec(12)])));
    expectDataError(() => loadCifar10([p]), p, 'record 1', 'label 12');
  });

  it('not gzip, and corrupt gzip', () => {
    const p = join(tmp, 'plain.bin.gz');
    writeFileSync(p, rec(1));
    expectDataError(() => loadCifar10([p]), p, 'not a gzip file');
    const q = join(tmp, 'cut.bin.gz');
    const gz = gzipSync(Buffer.concat([rec(1), rec(2), rec(3)]));
    writeFileSync(q, gz.subarray(0, gz.length - 50));
    expectDataError(() => loadCifar10([q]), q, 'corrupt or truncated gzip');
  });

  it('wrong IDX magic', () => {
    const p = join(tmp, 'magic-images-idx3-ubyte');
    writeFileSync(p, idx(2049, [1, 28, 28], 784));
    expectDataError(() => loadFashionMnist(p), p, 'wrong IDX magic number 2049', 'expected 2051');
    const l = join(tmp, 'magic-labels-idx1-ubyte.gz');
    writeFileSync(l, gzipSync(idx(2051, [1], 1)));
    const imgs = join(tmp, 'ok-images-idx3-ubyte');
    writeFileSync(imgs, idx(2051, [1, 28, 28], 784));
    expectDataError(() => loadFashionMnist(imgs, l), l, 'wrong IDX magic number 2051', 'expected 2049');
  });

  it('IDX header count does not match the size', () => {
    const p = join(tmp, 'count-images-idx3-ubyte');
    writeFileSync(p, idx(2051, [3, 28, 28], 784 * 2));
    expectDataError(() => loadFashionMnist(p), p, 'says 3 images', 'truncated');
    const l = join(tmp, 'count-labels-idx1-ubyte');
    writeFileSync(l, idx(2049, [5], 6));
    const imgs = join(tmp, 'five-images-idx3-ubyte');
    writeFileSync(imgs, idx(2051, [5, 28, 28], 784 * 5));
    expectDataError(() => loadFashionMnist(imgs, l), l, 'says 5 labels', 'trailing');
  });

  it('images/labels count mismatch, bad rows/cols, label > 9 in IDX', () => {
    const imgs = join(tmp, 'mm-images-idx3-ubyte');
    writeFileSync(imgs, idx(2051, [2, 28, 28], 784 * 2));
    const l = join(tmp, 'mm-labels-idx1-ubyte');
    writeFileSync(l, idx(2049, [3], 3));
    expectDataError(() => loadFashionMnist(imgs, l), l, '3 labels', '2 images');
    const odd = join(tmp, 'odd-images-idx3-ubyte');
    writeFileSync(odd, idx(2051, [1, 28, 27], 28 * 27));
    expectDataError(() => loadFashionMnist(odd), odd, '28x27', 'expected 28x28');
    const bad = join(tmp, 'bad-labels-idx1-ubyte');
    const b = idx(2049, [2], 2);
    b[9] = 12;
    writeFileSync(bad, b);
    writeFileSync(imgs, idx(2051, [2, 28, 28], 784 * 2));
    expectDataError(() => loadFashionMnist(imgs, bad), bad, 'label 1 is 12');
  });

  it('directories: incomplete CIFAR-10 or Fashion-MNIST folders, or no data at all', () => {
    const c = join(tmp, 'cifar-no-test');
    mkdirSync(c, { recursive: true });
    writeFileSync(join(c, 'data_batch_1.bin'), rec(1));
    expectDataError(() => loadDataset(c), 'test_batch.bin', 'no test batch');
    const f = join(tmp, 'fashion-partial');
    mkdirSync(f, { recursive: true });
    writeFileSync(join(f, 'train-images-idx3-ubyte'), idx(2051, [1, 28, 28], 784));
    expectDataError(() => loadDataset(f), 'train-labels-idx1-ubyte', 'missing');
    const e = join(tmp, 'empty-dir');
    mkdirSync(e, { recursive: true });
    expectDataError(() => loadDataset(e), e, 'no data set found');
    // a bad file inside a data folder is reported with its path
    const g = join(tmp, 'cifar-bad');
    mkdirSync(g, { recursive: true });
    writeFileSync(join(g, 'data_batch_1.bin'), rec(1));
    writeFileSync(join(g, 'test_batch.bin'), rec(10));
    expectDataError(() => loadDataset(g), join(g, 'test_batch.bin'), 'label 10');
  });
});

describe('BatchOrder', () => {
  it('each epoch is a permutation; epochs differ; seeds differ; deterministic', () => {
    const n = 103;
    const o = new BatchOrder(n, 42);
    const seen = new Set<number>();
    for (let i = 0; i < 10; i++) for (const k of o.next(10)) seen.add(k);
    expect(seen.size).toBe(100);
    expect(o.state()).toEqual({ seed: 42, epoch: 0, position: 100 });
    const b = o.next(10); // 3 left over: skipped, epoch 1 starts
    expect(o.state()).toEqual({ seed: 42, epoch: 1, position: 10 });
    expect(b).toEqual(epochPermutation(n, 42, 1).subarray(0, 10));
    const p0 = epochPermutation(n, 42, 0);
    expect([...p0].sort((x, y) => x - y)).toEqual([...Array(n).keys()]);
    expect(p0).not.toEqual(epochPermutation(n, 42, 1));
    expect(p0).not.toEqual(epochPermutation(n, 43, 0));
    expect(p0).toEqual(epochPermutation(n, 42, 0));
    expect(new BatchOrder(n, 42).next(7)).toEqual(new BatchOrder(n, 42).next(7));
    // large seeds use both halves
    expect(epochPermutation(n, 2 ** 40 + 5, 0)).not.toEqual(epochPermutation(n, 5, 0));
  });

  it('restore continues identically, including across epoch boundaries', () => {
    const n = 50;
    const a = new BatchOrder(n, 7);
    for (let i = 0; i < 13; i++) a.next(8); // several epochs in
    const saved = JSON.parse(JSON.stringify(a.state())) as ReturnType<BatchOrder['state']>;
    expect(saved.epoch).toBeGreaterThan(1);
    const b = BatchOrder.restore(n, saved);
    for (let i = 0; i < 20; i++) {
      const size = 1 + (i % 9);
      expect(b.next(size)).toEqual(a.next(size));
    }
    expect(b.state()).toEqual(a.state());
    expect(() => BatchOrder.restore(n, { seed: 7, epoch: 0, position: 51 })).toThrow(/position 51/);
    expect(() => new BatchOrder(n, 7).next(51)).toThrow(/exceeds/);
  });

  it('gatherBatch copies NHWC images and labels', () => {
    const set: ImageSet = { images: new Uint8Array(4 * 2 * 2 * 3).map((_, i) => i), labels: new Uint8Array([5, 6, 7, 8]), count: 4,
      height: 2, width: 2, channels: 3, source: 'synthetic' };
    const batch = gatherBatch(set, new Uint32Array([2, 0]));
    expect([...batch]).toEqual([...set.images.subarray(24, 36), ...set.images.subarray(0, 12)]);
    expect([...gatherLabels(set, [3, 1])]).toEqual([8, 6]);
    expect(() => gatherBatch(set, [4])).toThrow(/out of range/);
  });
});
