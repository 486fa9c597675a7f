// Models built for the data's own image size (Fashion-MNIST at 28x28, bits/dim over real pixels only):
// the size rule, pooling without padding, refused sizes, the aux resolutions of 28x28 images, PixelCNN++
// causality at 28x28 with one channel and the conditioning stream, and a tiny training run on generated
// Fashion-MNIST-format files whose bits/dim divide by 28*28 = 784.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectCausal, idxFile } from '../helpers/causality.js';
import { Engine, ParameterSet } from '../../engine/index.js';
import { Agave, Ctx } from '../../model/agave.js';
import { CONFIGS } from '../../model/config.js';
import { fitImages, modelImageSize } from '../../train/step/setup.js';
import { train } from '../../train/trainer.js';
import type { ImageSet } from '../../train/data/datasets.js';
import { mulberry32 } from '../reference/gradcheck.js';

/** Fashion-MNIST-format files (gzip'd IDX) of smooth random 28x28 images. */
function fashionFolder(nTrain: number, nTest: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'agave-fashion-'));
  const rng = mulberry32(9);
  const images = (n: number): Uint8Array => {
    const out = new Uint8Array(n * 784);
    for (let k = 0; k < n; k++) {
      const a = rng() * 6, b = rng() * 6, c = rng() * 255;
      for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) out[k * 784 + y * 28 + x] = Math.round(Math.abs(c * Math.sin((a * x + b * y) / 28)));
    }
    return out;
  };
  const labels = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => i % 10);
  writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(idxFile(2051, [nTrain, 28, 28], images(nTrain))));
  writeFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(idxFile(2049, [nTrain], labels(nTrain))));
  writeFileSync(join(dir, 't10k-images-idx3-ubyte.gz'), gzipSync(idxFile(2051, [nTest, 28, 28], images(nTest))));
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(idxFile(2049, [nTest], labels(nTest))));
  return dir;
}

describe('model image size', () => {
  it('the size rule: --image-size, else the config size when it pools the data exactly, else the data size', () => {
    expect(modelImageSize(32, 32).size).toBe(32);
    expect(modelImageSize(32, 16)).toEqual({ size: 16, why: "the config's size: average-pooled 2x2" });
    expect(modelImageSize(32, 8).size).toBe(8);
    expect(modelImageSize(28, 32).size).toBe(28); // Fashion-MNIST with the small config: its own size, no padding
    expect(modelImageSize(28, 16).size).toBe(28);
    expect(modelImageSize(28, 8).size).toBe(28);
    expect(modelImageSize(32, 16, 32).size).toBe(32);
    expect(modelImageSize(28, 32, 28).size).toBe(28);
    expect(() => modelImageSize(28, 32, 32)).toThrow(/--image-size 32: the 28x28 images can only be average-pooled by an integer factor \(to 28, 4\); they are never padded/);
    expect(() => modelImageSize(32, 32, 12)).toThrow(/pooled by an integer factor \(to 32, 16, 8, 4\)/);
    expect(() => modelImageSize(32, 32, 10)).toThrow(/image size 10x10: .* multiple of 4/);
    expect(() => modelImageSize(30, 32)).toThrow(/the data's image size 30x30: .* multiple of 4/);
  });

  it('fitImages average-pools by an integer factor and never pads', () => {
    const set: ImageSet = { images: Uint8Array.from([0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30]), labels: new Uint8Array(1), count: 1, height: 4, width: 4, channels: 1, source: 's' };
    const p = fitImages(set, 2);
    expect([...p.images]).toEqual([5, 9, 21, 25]);
    expect(p.source).toBe('s (pooled 2x2 to 2x2)');
    expect(fitImages(set, 4)).toBe(set);
    expect(() => fitImages(set, 8)).toThrow(/cannot be average-pooled to 8x8/);
    expect(() => fitImages(set, 3)).toThrow(/cannot be average-pooled/);
  });
});

describe('28x28, one channel', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await Engine.create({ seed: 2 });
  });
  afterAll(() => engine.dispose());

  it('aux resolutions of 28x28 images: 14x14 and 7x7 build; 8x8 is refused naming the size', () => {
    const cfg = { ...CONFIGS.tiny, imageSize: 28 };
    for (const v of ['14x14', '7x7', 'identity'] as const) expect(new Agave(cfg, { variant: v }, 1).auxSize).toBe(v === 'identity' ? 28 : Number(v.split('x')[0]));
    expect(() => new Agave(cfg, { variant: '8x8' }, 1)).toThrow(/aux resolution 8x8 must divide the image size 28/);
    // The bits/dim divisor: the pixels the model predicts (28*28*1), and the aux image's own for the aux NLL.
    expect(new Agave(cfg, { variant: 'identity' }, 1).dims).toBe(784);
    expect(new Agave(cfg, { variant: '7x7' }, 1).auxDims).toBe(49);
  });

  it('PixelCNN++ with the conditioning stream is causal at 28x28 (stages 28 -> 14 -> 7)', async () => {
    const cfg = { ...CONFIGS.tiny, imageSize: 28 };
    const model = new Agave(cfg, { variant: '14x14' }, 1);
    const params = ParameterSet.create(engine, model.builder.specs, 3);
    const S = 28, B = 2;
    const cond = engine.uniform([B, S, S, 1], -1, 1, { seed: 4 }).keep();
    const ctx = new Ctx(engine, params, { seed: 1 });
    await expectCausal('conditional PixelCNN++, one channel', (data) => engine.asyncScope(async () => engine.noGrad(() => model.pixelcnn.forward(ctx, engine.tensor(data, [B, S, S, 1]), cond)).read()), [B, S, 1], [[0, 0], [13, 20], [27, 3]], 5);
    cond.dispose();
    params.dispose();
  });

  it('trains on Fashion-MNIST-format data at 28x28 and reports bits/dim over 784 dimensions', async () => {
    const data = fashionFolder(16, 8);
    const out = mkdtempSync(join(tmpdir(), 'agave-f28-'));
    const lines: string[] = [];
    const r = await train({ data, config: 'tiny', aux: '7x7', seed: 1, out, steps: 2, evalEvery: 2, evalImages: 8, checkpointEvery: 2, resume: false, vaePretrain: 0, pixelcnnPretrain: 0, logEvery: 1, batch: 4 }, (l) => lines.push(l));
    const log = lines.join('\n');
    expect(log).toMatch(/16 train \/ 8 test images 28x28x1 .*model size: the data's own size .*bits\/dim over 28x28x1 = 784 dimensions/);
    expect(r.evals).toHaveLength(1);
    const e = r.evals[0]!;
    expect(Number.isFinite(e.testBitsPerDim) && e.testBitsPerDim > 0 && e.testBitsPerDim < 12).toBe(true);
    expect(e.testBitsPerDim).toBeCloseTo(e.pixelcnn! + e.kl, 10);
    // Refused: a size the data cannot be pooled to, named in the error.
    await expect(train({ data, config: 'tiny', aux: 'identity', seed: 1, out: mkdtempSync(join(tmpdir(), 'agave-f28b-')), steps: 1, evalEvery: 1, evalImages: 4, checkpointEvery: 1, resume: false, vaePretrain: 0, pixelcnnPretrain: 0, logEvery: 1, batch: 4, imageSize: 32 }, () => undefined)).rejects.toThrow(/--image-size 32: the 28x28 images/);
  }, 300_000);
});
