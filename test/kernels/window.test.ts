// ops.writeWindow (engine/ops/window.ts, the strided-copy kernel writing into a window of an existing tensor; the
// cached PixelCNN++ sampler's write-back) against the float64 reference (test/reference/window.ts): exact
// (a copy) at random ranks, shapes and offsets, every element outside the window untouched; refusals.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ops, type Engine } from '../../engine/index.js';
import { mulberry32, randomData, randomInt, randomShape } from '../reference/gradcheck.js';
import { shapeStr } from '../reference/tensor.js';
import { refWriteWindow } from '../reference/window.js';
import { disposeTestEngine, roundF32, testEngine, toGpu } from '../helpers/gpu.js';

let engine: Engine;
beforeAll(async () => {
  engine = await testEngine();
});
afterAll(disposeTestEngine);

describe('writeWindow', () => {
  it('copies src into dst at an offset, in place, at random shapes (exact)', async () => {
    const rng = mulberry32(41);
    for (let trial = 0; trial < 8; trial++) {
      const rank = randomInt(rng, 1, 4);
      const dstShape = randomShape(rng, rank, 9);
      const srcShape = dstShape.map((d) => randomInt(rng, 1, d));
      const starts = dstShape.map((d, i) => randomInt(rng, 0, d - srcShape[i]!));
      const dst = roundF32(randomData(rng, dstShape));
      const src = roundF32(randomData(rng, srcShape, 5, 6));
      const want = refWriteWindow(dst, src, starts);
      const got = await engine.asyncScope(async () => {
        const d = toGpu(engine, dst);
        const r = ops.writeWindow(d, toGpu(engine, src), starts);
        expect(r).toBe(d);
        return d.read();
      });
      const bad = want.data.findIndex((v, i) => v !== got[i]);
      expect(bad, `writeWindow: src ${shapeStr(srcShape)} at [${starts.join(', ')}] into dst ${shapeStr(dstShape)}: element ${bad} is ${got[bad]}, reference ${want.data[bad]}`).toBe(-1);
    }
  });

  it('refuses windows that do not fit, rank mismatches and recorded gradients', () => {
    engine.scope(() => {
      const dst = engine.zeros([2, 4, 4, 3]);
      expect(() => ops.writeWindow(dst, engine.zeros([2, 2, 2, 3]), [0, 3, 0, 0])).toThrow(/does not fit in \[2, ?4, ?4, ?3\] \(dim 1\)/);
      expect(() => ops.writeWindow(dst, engine.zeros([2, 2, 3]), [0, 0, 0])).toThrow(/same rank/);
      const g = engine.zeros([1, 1, 1, 3]);
      g.requiresGrad = true;
      expect(() => ops.writeWindow(dst, g, [0, 0, 0, 0])).toThrow(/not differentiable/);
      return undefined;
    });
  });
});
