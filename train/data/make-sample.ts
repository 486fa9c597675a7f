// Regenerates the bundled CIFAR-10 sample in data/ from a full copy of the CIFAR-10 binary batches (a folder
// holding data_batch_1.bin[.gz] and test_batch.bin[.gz], given as the argument). Not run by CI or the tests;
// run by hand:
//
//   npx esbuild train/data/make-sample.ts --bundle --platform=node --format=esm --outfile=/tmp/make-sample.mjs \
//     && node /tmp/make-sample.mjs CIFAR10-DIR
//
// Selection (deterministic, class-balanced): walking each source file in record order, keep the first
// TRAIN_PER_CLASS records of each label from data_batch_1 and the first TEST_PER_CLASS of each label from
// test_batch; kept records stay in their original order. The records are copied byte for byte (label + planar
// RGB) and gzip'd at level 9. The output must stay under 8 MB in total (CIFAR-10 pixels compress to ~93%).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { CIFAR10_RECORD_BYTES, SAMPLE_TEST_FILE, SAMPLE_TRAIN_FILE, parseCifar10, readMaybeGzip } from './datasets.js';

export const TRAIN_PER_CLASS = 200;
export const TEST_PER_CLASS = 50;
const MAX_TOTAL_BYTES = 8_000_000;

/** The records (label + planar pixels, unchanged) to keep: the first `perClass` of each label, in file order. */
export function selectBalanced(bytes: Uint8Array, perClass: number, name: string): Uint8Array {
  parseCifar10(bytes, name); // validates size and labels
  const count = bytes.length / CIFAR10_RECORD_BYTES;
  const taken = new Array<number>(10).fill(0);
  const keep: number[] = [];
  for (let n = 0; n < count; n++) {
    const label = bytes[n * CIFAR10_RECORD_BYTES]!;
    if (taken[label]! < perClass) {
      taken[label]! += 1;
      keep.push(n);
    }
  }
  if (taken.some((t) => t < perClass)) throw new Error(`${name}: fewer than ${perClass} records of some class (${taken.join(', ')})`);
  const out = new Uint8Array(keep.length * CIFAR10_RECORD_BYTES);
  keep.forEach((n, i) => out.set(bytes.subarray(n * CIFAR10_RECORD_BYTES, (n + 1) * CIFAR10_RECORD_BYTES), i * CIFAR10_RECORD_BYTES));
  return out;
}

export function makeSample(sourceDir: string, outDir: string): { train: number; test: number; bytes: number } {
  const train = selectBalanced(readMaybeGzip(join(sourceDir, 'data_batch_1.bin.gz')), TRAIN_PER_CLASS, 'data_batch_1');
  const test = selectBalanced(readMaybeGzip(join(sourceDir, 'test_batch.bin.gz')), TEST_PER_CLASS, 'test_batch');
  // mtime 0 in the gzip header (Node writes 0) keeps the output byte-identical across runs.
  const trainGz = gzipSync(train, { level: 9 });
  const testGz = gzipSync(test, { level: 9 });
  const bytes = trainGz.length + testGz.length;
  if (bytes > MAX_TOTAL_BYTES) throw new Error(`sample would be ${bytes} bytes, over the ${MAX_TOTAL_BYTES} byte budget`);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, SAMPLE_TRAIN_FILE), trainGz);
  writeFileSync(join(outDir, SAMPLE_TEST_FILE), testGz);
  return { train: train.length / CIFAR10_RECORD_BYTES, test: test.length / CIFAR10_RECORD_BYTES, bytes };
}

// Entry point when run as a script (not when imported).
if (process.argv[1] && resolve(process.argv[1]).replace(/\.(ts|mjs|js)$/, '').endsWith('make-sample')) {
  const repo = process.cwd();
  if (!process.argv[2]) {
    console.error('usage: node make-sample.mjs CIFAR10-DIR (the folder holding data_batch_1.bin[.gz] and test_batch.bin[.gz])');
    process.exit(1);
  }
  const source = resolve(process.argv[2]);
  const out = resolve(repo, 'data');
  const r = makeSample(source, out);
  console.log(`wrote ${join(out, SAMPLE_TRAIN_FILE)} (${r.train} records) and ${join(out, SAMPLE_TEST_FILE)} ` +
    `(${r.test} records), ${r.bytes} bytes in total, from ${source}`);
}
