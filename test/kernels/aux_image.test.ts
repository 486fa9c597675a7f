// Auxiliary-image ops (engine/ops/aux_image.ts) against float64 references (test/reference/aux_image.ts):
// avgPool and upsampleNearest forward/backward/directional on random NHWC shapes; quantizeLevels,
// roundPixels and grayscale4bit exactly; auxTarget for every variant.
import { afterAll, describe, expect, it } from 'vitest';
import type { Engine, Tensor } from '../../engine/index.js';
import { auxLevels, auxTarget, avgPool, grayscale4bit, quantizeLevels, roundPixels, upsampleNearest } from '../../engine/generative/index.js';
import {
  refAvgPool, refAvgPoolVjp, refGray4, refQuantizeLevels, refRoundPixels, refUpsampleNearest, refUpsampleNearestVjp,
} from '../reference/aux_image.js';
import { type RefTensor, ref, shapeStr } from '../reference/tensor.js';
import { compare, directionalCheck, mulberry32, randomData, type Rng } from '../reference/gradcheck.js';
import { disposeTestEngine, roundF32, testEngine, toGpu } from '../helpers/gpu.js';
import { FWD_TOL, BWD_TOL, DIR_TOL } from '../helpers/opcheck.js';

let engine: Engine;

afterAll(async () => {
  await disposeTestEngine();
});

function image(rng: Rng, shape: number[]): RefTensor {
  return ref(shape, () => Math.floor(rng() * 256));
}

async function checkDiff(
  name: string, rng: Rng, x: RefTensor, f: number,
  gpuOp: (t: Tensor) => Tensor, fwd: (t: RefTensor) => RefTensor, vjp: (g: RefTensor) => RefTensor,
): Promise<void> {
  const label = `${name} ${shapeStr(x.shape)} factor ${f}`;
  await engine.asyncScope(async () => {
    const xg = toGpu(engine, x, true);
    const y = gpuOp(xg);
    const expected = fwd(x);
    expect(y.shape, `${label}: output shape`).toEqual(expected.shape);
    const r = compare(`${label} forward`, x.shape, await y.read(), expected.data, FWD_TOL);
    expect(r.err, r.message).toBeLessThanOrEqual(FWD_TOL);
    const cot = roundF32(randomData(rng, expected.shape));
    engine.backward(y, toGpu(engine, cot));
    const dx = await xg.grad!.read();
    const b = compare(`${label} backward`, x.shape, dx, vjp(cot).data, BWD_TOL);
    expect(b.err, b.message).toBeLessThanOrEqual(BWD_TOL);
    const dir = directionalCheck((xs) => fwd(xs[0]!), [x], [randomData(rng, x.shape)], cot, [dx]);
    expect(dir.relErr, `${label}: directional ${dir.lhs} vs ${dir.rhs}`).toBeLessThanOrEqual(DIR_TOL);
    xg.grad!.dispose();
  });
}

describe('aux image ops', () => {
  it('avgPool: forward, backward, directional on random shapes', async () => {
    engine ??= await testEngine();
    const rng = mulberry32(0xa1);
    const cases: [number[], number][] = [[[2, 32, 32, 3], 2], [[1, 32, 32, 3], 4], [[3, 6, 9, 5], 3], [[2, 14, 10, 7], 2], [[1, 5, 5, 1], 5]];
    for (const [shape, f] of cases) {
      const x = roundF32(randomData(rng, shape, -2, 2));
      await checkDiff('avgPool', rng, x, f, (t) => avgPool(t, f), (t) => refAvgPool(t, f), (g) => refAvgPoolVjp(shape, f, g));
    }
  });

  it('upsampleNearest: forward, backward (block sums), directional on random shapes', async () => {
    engine ??= await testEngine();
    const rng = mulberry32(0xa2);
    const cases: [number[], number][] = [[[2, 16, 16, 3], 2], [[1, 8, 8, 3], 4], [[3, 5, 7, 5], 3], [[2, 3, 1, 13], 2], [[1, 4, 4, 1], 1]];
    for (const [shape, f] of cases) {
      const x = roundF32(randomData(rng, shape, -2, 2));
      await checkDiff('upsampleNearest', rng, x, f, (t) => upsampleNearest(t, f), (t) => refUpsampleNearest(t, f), (g) => refUpsampleNearestVjp(shape, f, g));
    }
  });

  it('quantizeLevels / roundPixels / grayscale4bit match the reference exactly', async () => {
    engine ??= await testEngine();
    const rng = mulberry32(0xa3);
    await engine.asyncScope(async () => {
      const shape = [2, 7, 9, 3];
      const x = image(rng, shape);
      x.data[0] = 0;
      x.data[1] = 255;
      const xg = toGpu(engine, x);
      for (const K of [256, 128, 64, 32, 16, 8, 2]) {
        const q = await quantizeLevels(xg, K).read();
        const r = compare(`quantizeLevels K=${K}`, shape, q, refQuantizeLevels(x, K).data, 0);
        expect(r.err, r.message).toBe(0);
      }
      const frac = roundF32(randomData(rng, shape, -3, 259));
      const rp = compare('roundPixels', shape, await roundPixels(toGpu(engine, frac)).read(), refRoundPixels(frac).data, 0);
      expect(rp.err, rp.message).toBe(0);
      // Random colours plus exact grays (R = G = B = v for every v: the level boundaries).
      const grays = ref([1, 16, 16, 3], (i) => Math.floor(i / 3));
      for (const img of [x, grays]) {
        const g = grayscale4bit(toGpu(engine, img));
        expect(g.shape, 'grayscale4bit shape').toEqual([img.shape[0], img.shape[1], img.shape[2], 1]);
        const gr = compare('grayscale4bit', img.shape, await g.read(), refGray4(img).data, 0);
        expect(gr.err, gr.message).toBe(0);
      }
      const gg = await grayscale4bit(toGpu(engine, grays)).read();
      for (let v = 0; v < 256; v++) expect(gg[v], `grayscale4bit of gray ${v}`).toBe(16 * Math.floor(v / 16));
    });
  });

  it('auxTarget: every variant and its likelihood K', async () => {
    engine ??= await testEngine();
    const rng = mulberry32(0xa4);
    await engine.asyncScope(async () => {
      const shape = [2, 32, 32, 3];
      const x = image(rng, shape);
      const xg = toGpu(engine, x, true);
      const cases: [Parameters<typeof auxTarget>[1], number | undefined, RefTensor, number][] = [
        ['identity', undefined, x, 256],
        ['levels', 32, refQuantizeLevels(x, 32), 32],
        ['16x16', undefined, refRoundPixels(refAvgPool(x, 2)), 256],
        ['8x8', undefined, refRoundPixels(refAvgPool(x, 4)), 256],
        ['8x8', 64, refQuantizeLevels(refRoundPixels(refAvgPool(x, 4)), 64), 64],
        ['gray4', undefined, refGray4(x), 16],
      ];
      for (const [variant, K, expected, levels] of cases) {
        const y = auxTarget(xg, variant, K);
        expect(y.requiresGrad, `auxTarget ${variant}: data, no gradient`).toBe(false);
        expect(y.shape, `auxTarget ${variant} shape`).toEqual(expected.shape);
        const r = compare(`auxTarget ${variant} K=${K}`, shape, await y.read(), expected.data, 0);
        expect(r.err, r.message).toBe(0);
        expect(auxLevels(variant, K), `auxLevels ${variant}`).toBe(levels);
      }
      expect(() => auxTarget(xg, 'levels')).toThrow(/needs K/);
      expect(() => auxTarget(xg, '5x5')).toThrow(/divisible/);
      expect(() => auxLevels('gray4', 32)).toThrow(/16 levels/);
    });
  });
});
