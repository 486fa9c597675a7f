// ops.shift (one strided copy) against the float64 pad(slice(x)) it replaces, forward and backward, on every
// axis of random NHWC shapes, including shifts by the whole extent.
import { afterAll, describe, expect, it } from 'vitest';
import { ops, type Engine } from '../../engine/index.js';
import { compare, mulberry32, randomData, randomInt } from '../reference/gradcheck.js';
import { pad as refPad, slice as refSlice } from '../reference/ops.js';
import { ref, shapeStr } from '../reference/tensor.js';
import { disposeTestEngine, roundF32, testEngine, toGpu } from '../helpers/gpu.js';

let engine: Engine;
afterAll(() => disposeTestEngine());

describe('shift', () => {
  it('equals pad(slice(x)) forward and backward (float64), every axis', async () => {
    engine ??= await testEngine();
    const rng = mulberry32(41);
    for (let k = 0; k < 8; k++) {
      const shape = [randomInt(rng, 1, 3), randomInt(rng, 1, 6), randomInt(rng, 1, 6), randomInt(rng, 1, 5)];
      const axis = k % 4;
      const by = k === 7 ? shape[axis]! : randomInt(rng, 0, Math.min(2, shape[axis]!));
      const x = roundF32(randomData(rng, shape));
      const g = roundF32(randomData(rng, shape));
      const keep = shape.map((d, i) => (i === axis ? Math.max(0, d - by) : d));
      const want = refPad(refSlice(x, shape.map(() => 0), keep), shape.map((_, i) => (i === axis ? Math.min(by, shape[i]!) : 0)), shape.map(() => 0));
      // backward of pad(slice): slice(g) from `by`, padded at the end
      const wantDx = ref(shape, (i) => {
        let rem = i;
        const idx = [...shape].reverse().map((d) => { const c = rem % d; rem = Math.floor(rem / d); return c; }).reverse();
        if (idx[axis]! + by >= shape[axis]!) return 0;
        const j = idx.reduce((acc, c, d) => acc * shape[d]! + (d === axis ? c + by : c), 0);
        return g.data[j]!;
      });
      const label = `shift x${shapeStr(shape)} axis ${axis} by ${by}`;
      await engine.asyncScope(async () => {
        const gx = toGpu(engine, x, true);
        const y = ops.shift(gx, axis, by);
        const fw = compare(`${label} forward`, shape, await y.read(), want.data, 0);
        expect(fw.err, fw.message).toBe(0);
        engine.backward(y, toGpu(engine, g));
        const bw = compare(`${label} backward`, shape, await gx.grad!.read(), wantDx.data, 0);
        expect(bw.err, bw.message).toBe(0);
      });
    }
  });
});

describe('addScaled', () => {
  it('a + s*b and its gradients (g, s*g) match float64', async () => {
    engine ??= await testEngine();
    const rng = mulberry32(42);
    const shape = [2, 3, 5, 7];
    const [a, b, g] = [roundF32(randomData(rng, shape)), roundF32(randomData(rng, shape)), roundF32(randomData(rng, shape))];
    const s = 0.1;
    await engine.asyncScope(async () => {
      const [ga, gb] = [toGpu(engine, a, true), toGpu(engine, b, true)];
      const y = ops.addScaled(ga, gb, s);
      const fw = compare('addScaled forward', shape, await y.read(), a.data.map((v, i) => v + s * b.data[i]!), 1e-6);
      expect(fw.err, fw.message).toBeLessThanOrEqual(1e-6);
      engine.backward(y, toGpu(engine, g));
      const da = compare('addScaled d(a)', shape, await ga.grad!.read(), g.data, 0);
      expect(da.err, da.message).toBe(0);
      const db = compare('addScaled d(b)', shape, await gb.grad!.read(), g.data.map((v) => s * v), 1e-6);
      expect(db.err, db.message).toBeLessThanOrEqual(1e-6);
    });
  });
});
