// The page's data: the bundled CIFAR-10 sample (fetched from data/ beside the page and gunzipped with the
// browser's DecompressionStream), or CIFAR-10 batches / Fashion-MNIST IDX files the user chose, found and
// validated by the same code and messages as `node train.js --data` (train/data/image-sets.ts).
import {
  CIFAR10_CLASSES, DataError, SAMPLE_TEST_FILE, SAMPLE_TRAIN_FILE, corruptGzipError, datasetOfFiles, isDataFileName, isGzipData, parseCifar10, type Dataset,
  type NamedBytes,
} from '../../train/data/image-sets.js';

/** `bytes` gunzipped when they are gzip data (a name ending in .gz must be: the CLI's check). */
export async function gunzipped(bytes: Uint8Array<ArrayBuffer>, name: string): Promise<Uint8Array> {
  if (!isGzipData(bytes, name)) return bytes;
  try {
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (e) {
    throw corruptGzipError(name, e);
  }
}

async function fetchBytes(url: URL, name: string): Promise<Uint8Array<ArrayBuffer>> {
  let r: Response;
  try {
    r = await fetch(url);
  } catch (e) {
    throw new DataError(`${name}: could not fetch ${url.href} (${e instanceof Error ? e.message : String(e)}); serve the page's folder over HTTP (npm run studio)`);
  }
  if (!r.ok) throw new DataError(`${name}: could not fetch ${url.href} (HTTP ${r.status}); the bundled sample belongs in data/ beside index.html`);
  return new Uint8Array(await r.arrayBuffer());
}

/** The bundled CIFAR-10 sample (2,000 train + 500 test images), from `base`/data/. */
export async function loadSample(base: URL): Promise<Dataset> {
  const load = async (file: string) => {
    const name = `data/${file}`;
    return parseCifar10(await gunzipped(await fetchBytes(new URL(name, base), name), name), name);
  };
  const [train, test] = await Promise.all([load(SAMPLE_TRAIN_FILE), load(SAMPLE_TEST_FILE)]);
  return { train, test, format: 'cifar10', classNames: CIFAR10_CLASSES };
}

/** The data set among files the user chose (File objects: a file picker's, a folder's, or dropped ones). */
export async function loadChosenFiles(files: readonly File[]): Promise<Dataset> {
  if (files.length === 0) throw new DataError('no files chosen: choose CIFAR-10 binary batches or the four Fashion-MNIST IDX files');
  // A chosen folder may hold more than the data (a README, the archive): only the data files are read.
  const data = files.filter((f) => isDataFileName(f.name));
  const named: NamedBytes[] = [];
  for (const f of data.length ? data : files) named.push({ name: f.name, bytes: await gunzipped(new Uint8Array(await f.arrayBuffer()), f.name) });
  return datasetOfFiles(named);
}
