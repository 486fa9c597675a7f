// matmul's epilogue (nin layers: y = x W + b (+ r, a residual sum) in one dispatch) for every matmul kernel
// variant, against float64: the output, and the gradients of x, W, b (summed by a reduction) and r.
import { afterAll, describe, expect, it } from 'vitest';
import { MATMUL_VARIANTS, ops, type Engine } from '../../engine/index.js';
import { compare, mulberry32, randomData } from '../reference/gradcheck.js';
import { matmul as refMatmul } from '../reference/ops.js';
import { ref, shapeStr } from '../reference/tensor.js';
import { disposeTestEngine, roundF32, testEngine, toGpu } from '../helpers/gpu.js';

let engine: Engine;
afterAll(() => disposeTestEngine());

describe('matmul with a bias and addend epilogue', () => {
  for (const v of MATMUL_VARIANTS) {
    it(`${v.name}: y = x W + b + r and its gradients match float64`, async () => {
      engine ??= await testEngine();
      const rng = mulberry32(31);
      for (const [M, K, N] of [[70, 9, 67], [5, 3, 4], [130, 17, 6]] as const) {
        const x = roundF32(randomData(rng, [M, K]));
        const w = roundF32(randomData(rng, [K, N]));
        const b = roundF32(randomData(rng, [N]));
        const res = roundF32(randomData(rng, [M, N]));
        const gy = roundF32(randomData(rng, [M, N]));
        const xw = refMatmul(x, w);
        const want = ref([M, N], (i) => xw.data[i]! + b.data[i % N]! + res.data[i]!);
        const label = `matmul:${v.name} bias + addend [${M}, ${K}] x [${K}, ${N}]`;
        await engine.asyncScope(async () => {
          const [gx, gw, gb, gr] = [toGpu(engine, x, true), toGpu(engine, w, true), toGpu(engine, b, true), toGpu(engine, res, true)];
          const y = ops.matmul(gx, gw, { bias: gb, addend: gr, variant: v.name });
          const fw = compare(`${label} forward`, [M, N], await y.read(), want.data, 1e-5);
          expect(fw.err, fw.message).toBeLessThanOrEqual(1e-5);
          engine.backward(y, toGpu(engine, gy));
          const dx = refMatmul(gy, w, false, true);
          const dw = refMatmul(x, gy, true, false);
          const db = ref([N], (j) => { let s = 0; for (let i = 0; i < M; i++) s += gy.data[i * N + j]!; return s; });
          for (const [name, t, r] of [['dx', gx, dx], ['dW', gw, dw], ['db', gb, db], ['dr', gr, gy]] as const) {
            const c = compare(`${label} ${name} ${shapeStr(r.shape)}`, r.shape, await t.grad!.read(), r.data, 1e-5);
            expect(c.err, c.message).toBeLessThanOrEqual(1e-5);
          }
        });
      }
    });
  }
});
