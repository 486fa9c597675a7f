// The identity of a data set, stored in every checkpoint: a resume on other data is refused (a run "continues
// exactly" only on the data it started with). Computed from the decoded records, so the same images compressed
// or not (or moved to another folder) are the same data set; any changed pixel or label is another. The hash is
// WebCrypto's SHA-256 (globalThis.crypto.subtle: Node >= 20 and every browser with WebGPU), so Node and a page
// fingerprint the same data alike.
import type { Dataset, ImageSet } from './image-sets.js';

export interface DataFingerprint {
  format: Dataset['format'];
  /** Image counts and shape (before fitting to the config's size). */
  train: number;
  test: number;
  shape: [number, number, number];
  /** SHA-256 (hex) over the train images, train labels, test images and test labels, each preceded by its length. */
  sha256: string;
  /** Where the data came from, for messages only (not compared). */
  source: string;
}

function setBytes(s: ImageSet): Uint8Array {
  return s.images.subarray(0, s.count * s.height * s.width * s.channels);
}

/** What is hashed: the train images, train labels, test images and test labels, each preceded by its length (u64 LE). */
export function fingerprintBytes(d: Dataset): Uint8Array<ArrayBuffer> {
  const parts = [d.train, d.test].flatMap((s) => [setBytes(s), s.labels.subarray(0, s.count)]);
  const out = new Uint8Array(parts.reduce((n, p) => n + 8 + p.length, 0));
  const view = new DataView(out.buffer);
  let at = 0;
  for (const p of parts) {
    view.setBigUint64(at, BigInt(p.length), true);
    out.set(p, at + 8);
    at += 8 + p.length;
  }
  return out;
}

export async function dataFingerprint(d: Dataset): Promise<DataFingerprint> {
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', fingerprintBytes(d)));
  return {
    format: d.format,
    train: d.train.count,
    test: d.test.count,
    shape: [d.train.height, d.train.width, d.train.channels],
    sha256: Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join(''),
    source: d.train.source,
  };
}

/** One line: 'cifar10, 2000 train / 500 test 32x32x3, sha256 1a2b3c4d5e6f (data/cifar10-sample-train.bin.gz)'. */
export function describeData(f: DataFingerprint): string {
  return `${f.format}, ${f.train} train / ${f.test} test ${f.shape.join('x')}, sha256 ${f.sha256.slice(0, 12)} (${f.source})`;
}

/** The fields a resume must match (source excluded: the same files may have moved). */
export function sameData(a: DataFingerprint, b: DataFingerprint): boolean {
  return a.format === b.format && a.train === b.train && a.test === b.test && a.shape.join('x') === b.shape.join('x') && a.sha256 === b.sha256;
}

/**
 * For a resume: throws naming both data sets when the checkpoint's fingerprint differs from the current data's;
 * a checkpoint from before fingerprints (none stored) is accepted with a warning.
 */
export function checkResumeData(stored: DataFingerprint | undefined, now: DataFingerprint, checkpoint: string, log: (line: string) => void): void {
  if (stored === undefined) {
    log(`warning: ${checkpoint} records no data fingerprint (an older checkpoint); cannot check that --data is the data it was trained on`);
    return;
  }
  if (!sameData(stored, now)) {
    throw new Error(`--resume: ${checkpoint} was trained on other data: checkpoint ${describeData(stored)}; now ${describeData(now)}. ` +
      'Resume with the original --data, or start a new run (another --out).');
  }
}
