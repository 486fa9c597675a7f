// Fashion-MNIST (Xiao, Rasul & Vollgraf 2017) for the examples: the four standard gzip'd IDX files, parsed and
// checked (magic, dimensions, length). Where the bytes come from is the caller's: Node reads the files
// (fashion-mnist-node.ts), a browser page fetches them (browser/mlp-page.ts).

export interface Split {
  /** n x 784 pixels scaled to [0, 1], row-major 28 x 28 per image. */
  images: Float32Array;
  labels: Int32Array;
  count: number;
}

export interface FashionMnist {
  train: Split;
  test: Split;
}

export const FILES = {
  trainImages: 'train-images-idx3-ubyte.gz',
  trainLabels: 'train-labels-idx1-ubyte.gz',
  testImages: 't10k-images-idx3-ubyte.gz',
  testLabels: 't10k-labels-idx1-ubyte.gz',
} as const;

export const CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

/** One IDX file (big-endian header: magic 0x0803 images / 0x0801 labels, then the dimensions), checked. */
function parseIdx(bytes: Uint8Array, name: string, dims: number): { shape: number[]; data: Uint8Array } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4 + 4 * dims || view.getUint32(0) !== 0x0800 + dims) throw new Error(`${name}: not an IDX file with ${dims} dimensions (magic ${bytes.length >= 4 ? view.getUint32(0) : 'missing'})`);
  const shape = Array.from({ length: dims }, (_, i) => view.getUint32(4 + 4 * i));
  const n = shape.reduce((a, b) => a * b, 1);
  const start = 4 + 4 * dims;
  if (bytes.length !== start + n) throw new Error(`${name}: ${bytes.length - start} data bytes for shape [${shape.join(', ')}] (${n} expected)`);
  return { shape, data: bytes.subarray(start) };
}

function split(images: Uint8Array, labels: Uint8Array, names: [string, string]): Split {
  const im = parseIdx(images, names[0], 3);
  const lb = parseIdx(labels, names[1], 1);
  if (im.shape[1] !== 28 || im.shape[2] !== 28) throw new Error(`${names[0]}: images are ${im.shape[1]}x${im.shape[2]}, not 28x28`);
  if (im.shape[0] !== lb.shape[0]) throw new Error(`${names[0]} has ${im.shape[0]} images but ${names[1]} ${lb.shape[0]} labels`);
  const out = new Float32Array(im.data.length);
  for (let i = 0; i < out.length; i++) out[i] = im.data[i]! / 255;
  const lab = Int32Array.from(lb.data);
  if (lab.some((l) => l > 9)) throw new Error(`${names[1]}: a label above 9`);
  return { images: out, labels: lab, count: im.shape[0]! };
}

/** Loads the four files through `read` (which returns a file's decompressed bytes). */
export async function loadFashionMnist(read: (file: string) => Promise<Uint8Array>): Promise<FashionMnist> {
  const [a, b, c, d] = await Promise.all([read(FILES.trainImages), read(FILES.trainLabels), read(FILES.testImages), read(FILES.testLabels)]);
  return { train: split(a, b, [FILES.trainImages, FILES.trainLabels]), test: split(c, d, [FILES.testImages, FILES.testLabels]) };
}
