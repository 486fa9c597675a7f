// matmul's epilogue (nin layers: y = x W + b (+ r, a residual sum) in one dispatch) for every matmul kernel
// variant, against float64: the output, and the gradients of x, W, b (summed by a reduction) and r; the tiled
// kernel's workgroup shapes for thin outputs and the row-split weight gradient (with the bias gradient).
import { afterAll, describe, expect, it } from 'vitest';
import { MATMUL_VARIANTS, ops, tiledTile, weightGradSplits, type Engine, type Tensor } from '../../engine/index.js';
import { compare, mulberry32, randomData } from '../reference/gradcheck.js';
import { matmul as refMatmul } from '../reference/ops.js';
import { ref, shapeStr, type RefTensor } from '../reference/tensor.js';
import { disposeTestEngine, roundF16, roundF32, testEngine, toGpu } from '../helpers/gpu.js';

let engine: Engine;
afterAll(() => disposeTestEngine());

/**
 * The GPU gradients of y = x W + b (x [M, K], W [K, N]) for the cotangent gy against float64: dx = gy W^T,
 * dW = x^T gy, db = gy summed over rows; `extra` are further (name, tensor, expected gradient) triples.
 */
async function expectDenseGrads(label: string, x: RefTensor, w: RefTensor, gy: RefTensor, [gx, gw, gb]: [Tensor, Tensor, Tensor], extra: [string, Tensor, RefTensor][] = []): Promise<void> {
  const [M, N] = gy.shape as [number, number];
  const dx = refMatmul(gy, w, false, true);
  const dw = refMatmul(x, gy, true, false);
  const db = ref([N], (j) => { let s = 0; for (let i = 0; i < M; i++) s += gy.data[i * N + j]!; return s; });
  const all: [string, Tensor, RefTensor][] = [['dx', gx, dx], ['dW', gw, dw], ['db', gb, db], ...extra];
  for (const [name, t, r] of all) {
    const c = compare(`${label} ${name} ${shapeStr(r.shape)}`, r.shape, await t.grad!.read(), r.data, 1e-5);
    expect(c.err, c.message).toBeLessThanOrEqual(1e-5);
  }
}

describe('matmul with a bias and addend epilogue', () => {
  for (const v of MATMUL_VARIANTS) {
    it(`${v.name}: y = x W + b + r and its gradients match float64`, async () => {
      engine ??= await testEngine();
      const rng = mulberry32(31);
      // [520, 9, 12]: the weight gradient is split into row chunks (weightGradSplits) with every variant.
      for (const [M, K, N] of [[70, 9, 67], [5, 3, 4], [130, 17, 6], [520, 9, 12]] as const) {
        // The f16-operand variants multiply f16 values: their operands (and the cotangent, an operand of the
        // gradient matmuls) are f16-representable, so the reference sees what the kernel multiplies.
        const storage = v.precision === 'f16' ? roundF16 : roundF32;
        const x = storage(randomData(rng, [M, K]));
        const w = storage(randomData(rng, [K, N]));
        const b = roundF32(randomData(rng, [N]));
        const res = roundF32(randomData(rng, [M, N]));
        const gy = storage(randomData(rng, [M, N]));
        const xw = refMatmul(x, w);
        const want = ref([M, N], (i) => xw.data[i]! + b.data[i % N]! + res.data[i]!);
        const label = `matmul:${v.name} bias + addend [${M}, ${K}] x [${K}, ${N}]`;
        await engine.asyncScope(async () => {
          const [gx, gw, gb, gr] = [toGpu(engine, x, true), toGpu(engine, w, true), toGpu(engine, b, true), toGpu(engine, res, true)];
          const y = ops.matmul(gx, gw, { bias: gb, addend: gr, variant: v.name });
          const fw = compare(`${label} forward`, [M, N], await y.read(), want.data, 1e-5);
          expect(fw.err, fw.message).toBeLessThanOrEqual(1e-5);
          engine.backward(y, toGpu(engine, gy));
          await expectDenseGrads(label, x, w, gy, [gx, gw, gb], [['dr', gr, gy]]);
        });
      }
    });
  }
});

describe('matmul tiled: the workgroup shape follows the output, and a shared weight\'s gradient is split along the rows', () => {
  // [rows, cin, cout] of a nin-style y = x W + b: each picks a different tile of the tiled kernel (tiledTile),
  // and the long ones split dW into row chunks, summed with db in one finishing dispatch.
  const cases: [number, number, number][] = [
    [700, 9, 5], // 8-column tile, 512 rows; dW split
    [520, 32, 16], // the nin layer's 256x16 tile; dW [32, 16] in one 32x16 workgroup, split in 4
    [130, 17, 30], // 128x32
    [70, 40, 67], // 64x64 and a partial second column tile
    [9, 3, 4], // 16x8 (2 invocations), no split
    [257, 5, 12], // rows with no power-of-two factor: no split
  ];
  it('tiles cover 8 to 64 columns and few rows; forward and gradients match float64 with and without a split', async () => {
    engine ??= await testEngine();
    const tiles = new Set(cases.flatMap(([M, K, N]) => [tiledTile(M, N), tiledTile(K, N), tiledTile(M, K)].map((t) => `${t.m}x${t.n}`)));
    for (const t of ['512x8', '256x16', '128x32', '64x64', '32x16', '16x8']) expect([...tiles], `tile ${t} exercised`).toContain(t);
    const labels: string[] = [];
    engine.runner.onDispatch = (_k, label) => {
      if (label) labels.push(label);
    };
    try {
      const rng = mulberry32(77);
      for (const [M, K, N] of cases) {
        const x = roundF32(randomData(rng, [M, K]));
        const w = roundF32(randomData(rng, [K, N]));
        const b = roundF32(randomData(rng, [N]));
        const gy = roundF32(randomData(rng, [M, N]));
        const xw = refMatmul(x, w);
        const want = ref([M, N], (i) => xw.data[i]! + b.data[i % N]!);
        const splits = weightGradSplits(M, tiledTile(K, N), K, N);
        const label = `matmul:tiled nin [${M}, ${K}] x [${K}, ${N}] (dW in ${splits} row chunks)`;
        labels.length = 0;
        await engine.asyncScope(async () => {
          const [gx, gw, gb] = [toGpu(engine, x, true), toGpu(engine, w, true), toGpu(engine, b, true)];
          const y = ops.nin(gx, gw, gb);
          const fw = compare(`${label} forward`, [M, N], await y.read(), want.data, 1e-5);
          expect(fw.err, fw.message).toBeLessThanOrEqual(1e-5);
          engine.backward(y, toGpu(engine, gy));
          await expectDenseGrads(label, x, w, gy, [gx, gw, gb]);
        });
        expect(labels.includes('matmul.weightGrad.finish+bias'), `${label}: split path ran (dispatches: ${labels.join(', ')})`).toBe(splits > 1);
      }
      expect(cases.filter(([M, K, N]) => weightGradSplits(M, tiledTile(K, N), K, N) > 1).length, 'cases with a split weight gradient').toBeGreaterThanOrEqual(2);
      expect(cases.filter(([M, K, N]) => weightGradSplits(M, tiledTile(K, N), K, N) === 1).length, 'cases without').toBeGreaterThanOrEqual(2);
    } finally {
      engine.runner.onDispatch = null;
    }
  });
});
