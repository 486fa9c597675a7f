// Data loading: real CIFAR-10 / Fashion-MNIST from ../shared/data, the bundled sample, corrupt inputs, batch order.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BatchOrder, CIFAR10_RECORD_BYTES, DataError, epochPermutation, gatherBatch, gatherLabels, loadBundledSample, loadCifar10,
  loadDataset, loadFashionMnist, type ImageSet,
} from '../../train/data.js';

const SHARED = fileURLToPath(new URL('../../../shared/data/', import.meta.url));
const CIFAR = join(SHARED, 'cifar10');
const FASHION = join(SHARED, 'fashion-mnist');

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

describe('CIFAR-10 (shared copy)', () => {
  let test: ImageSet;
  beforeAll(() => {
    test = loadCifar10([join(CIFAR, 'test_batch.bin.gz')]);
  });

  it('loads the full test batch with the documented statistics', () => {
    expect(test.count).toBe(10000);
    expect([test.height, test.width, test.channels]).toEqual([32, 32, 3]);
    expect(test.images.length).toBe(10000 * 32 * 32 * 3);
    expect(classCounts(test.labels)).toEqual(new Array(10).fill(1000));
    const sums = [0, 0, 0];
    for (let i = 0; i < test.images.length; i++) sums[i % 3]! += test.images[i]!;
    const means = sums.map((s) => s / (255 * 10000 * 1024));
    const want = [0.49421, 0.48513, 0.45041];
    means.forEach((m, ch) => expect(Math.abs(m - want[ch]!), `channel ${ch} mean ${m}`).toBeLessThan(1e-4));
  });

  it('NHWC conversion is exact: converting back reproduces test_batch.bin (sha256)', () => {
    const raw = gunzipSync(readFileSync(join(CIFAR, 'test_batch.bin.gz')));
    const want = 'a1a6452109f7ce681c3605809b6b1212fec9c775f8a1a25bd18aa6e5738c83e9';
    expect(createHash('sha256').update(raw).digest('hex')).toBe(want);
    expect(createHash('sha256').update(toRecords(test)).digest('hex')).toBe(want);
    // Pixel (y=5, x=7) of image 3, channel G, is byte 1 + 1024 + 5*32 + 7 of record 3.
    expect(test.images[((3 * 32 + 5) * 32 + 7) * 3 + 1]).toBe(raw[3 * CIFAR10_RECORD_BYTES + 1 + 1024 + 5 * 32 + 7]);
  });

  it('loadDataset on the shared folder finds data_batch_1 and test_batch', () => {
    const ds = loadDataset(CIFAR);
    expect(ds.format).toBe('cifar10');
    expect(ds.train.count).toBe(10000);
    expect(ds.test.count).toBe(10000);
    expect(ds.classNames[0]).toBe('airplane');
    expect(ds.classNames[9]).toBe('truck');
    expect(ds.train.source).toContain('data_batch_1.bin.gz');
  });

  it('concatenates several files in order', () => {
    const a = join(tmp, 'data_batch_a.bin');
    const raw = gunzipSync(readFileSync(join(CIFAR, 'test_batch.bin.gz')));
    writeFileSync(a, raw.subarray(0, 3 * CIFAR10_RECORD_BYTES));
    const b = join(tmp, 'data_batch_b.bin.gz');
    writeFileSync(b, gzipSync(raw.subarray(3 * CIFAR10_RECORD_BYTES, 5 * CIFAR10_RECORD_BYTES)));
    const s = loadCifar10([a, b]);
    expect(s.count).toBe(5);
    expect(s.images).toEqual(test.images.subarray(0, 5 * 3072));
    expect(s.labels).toEqual(test.labels.subarray(0, 5));
  });
});

describe('Fashion-MNIST (shared copy)', () => {
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

  it('is real CIFAR-10: the first test-sample record is the first record of test_batch', () => {
    const ds = loadBundledSample();
    const full = loadCifar10([join(CIFAR, 'test_batch.bin.gz')]);
    expect(ds.test.labels[0]).toBe(full.labels[0]);
    expect(ds.test.images.subarray(0, 3072)).toEqual(full.images.subarray(0, 3072));
  });

  it('stays under 8 MB', () => {
    const dir = fileURLToPath(new URL('../../data/', import.meta.url));
    const bytes = ['cifar10-sample-train.bin.gz', 'cifar10-sample-test.bin.gz']
      .map((f) => readFileSync(join(dir, f)).length).reduce((a, b) => a + b, 0);
    expect(bytes).toBeLessThan(8_000_000);
  });
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

it('shared data folder is present (the tests above read it)', () => {
  expect(existsSync(CIFAR) && existsSync(FASHION)).toBe(true);
});
