// The AGAVE model on the engine (tiny config, 8x8 images): PixelCNN++ causality with the conditioning stream on,
// the conditioning actually changing the PixelCNN output, and finite, near-uniform bits/dim at initialisation.
// The forward values and every parameter tensor's gradient are checked against the float64 reference in
// agave_reference.test.ts (it replaced the float32 directional check of 13 tensors that was here).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectCausal } from '../helpers/causality.js';
import { Engine, ParameterSet, ops, type Tensor } from '../../engine/index.js';
import { Agave, Ctx, pixelsOf, toPixels } from '../../model/agave.js';
import { CONFIGS } from '../../model/config.js';
import { loadBundledSample, gatherBatch } from '../../train/data/datasets.js';
import { fitImages } from '../../train/trainer.js';

let engine: Engine;
let model: Agave;
let params: ParameterSet;
let x255: Tensor;
const B = 4;
const S = CONFIGS.tiny.imageSize;

beforeAll(async () => {
  engine = await Engine.create({ seed: 11, poison: true });
  model = new Agave(CONFIGS.tiny, { variant: 'identity' });
  params = ParameterSet.create(engine, model.builder.specs, 5);
  const data = fitImages(loadBundledSample().train, S);
  x255 = engine.tensor(gatherBatch(data, [0, 1, 2, 3]), [B, S, S, 3]).keep();
  engine.scope(() => {
    const ctx = new Ctx(engine, params, { seed: 3, init: true, training: true });
    engine.noGrad(() => model.loss(ctx, x255, { lambda: 1, phase: 'joint', useAux: true }));
  });
  await engine.sync();
});

afterAll(() => {
  params.dispose();
  engine.dispose();
});

function ctx(stream = 1 << 20): Ctx {
  return new Ctx(engine, params, { seed: 3, streamBase: stream });
}

describe('AGAVE tiny model', () => {
  it('has finite losses near the uniform 8 bits/dim after data-dependent init', async () => {
    const v = await engine.asyncScope(async () => {
      const t = engine.noGrad(() => model.loss(ctx(), x255, { lambda: 1, phase: 'joint', useAux: true }));
      return [await t.pixelcnnNll!.item(), await t.auxNll!.item(), await t.klTrue.item()];
    });
    const [pc, aux, kl] = v as [number, number, number];
    const bpd = (n: number, d: number): number => n / (d * Math.LN2);
    expect([pc, aux, kl].every(Number.isFinite), `terms ${v}`).toBe(true);
    expect(bpd(pc, model.dims), 'PixelCNN bits/dim at init').toBeGreaterThan(7);
    expect(bpd(pc, model.dims), 'PixelCNN bits/dim at init').toBeLessThan(10.5);
    expect(bpd(aux, model.auxDims), 'aux bits/dim at init').toBeLessThan(12);
    // kl is a one-sample estimate of KL(q || p) and may be negative; the model's KL terms are checked against
    // the float64 reference of the whole model in agave_reference.test.ts (and its Monte-Carlo mean in baselines).
    console.log(`init: pixelcnn ${bpd(pc, model.dims).toFixed(3)} aux ${bpd(aux, model.auxDims).toFixed(3)} kl ${bpd(kl, model.dims).toFixed(4)} bits/dim; ${params.count} parameters`);
  });

  it('PixelCNN++ with its conditioning stream is causal: output at p ignores pixels >= p in raster order', async () => {
    const cond = engine.uniform([B, S, S, 3], -1, 1, { seed: 8 }).keep();
    await expectCausal('conditional PixelCNN++', (data) => engine.asyncScope(async () => engine.noGrad(() => model.pixelcnn.forward(ctx(), engine.tensor(data, [B, S, S, 3]), cond)).read()), [B, S, 3], [[0, 0], [2, 5], [4, 0], [7, 7]]);
    cond.dispose();
  });

  it('the conditioning image changes the PixelCNN output', async () => {
    const x = engine.uniform([B, S, S, 3], -1, 1, { seed: 12 }).keep();
    const run = async (seed: number): Promise<Float32Array> =>
      engine.asyncScope(async () => engine.noGrad(() => model.pixelcnn.forward(ctx(), x, engine.uniform([B, S, S, 3], -1, 1, { seed }))).read());
    const a = await run(1);
    const b = await run(2);
    let diff = 0;
    let scale = 0;
    for (let i = 0; i < a.length; i++) {
      diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
      scale = Math.max(scale, Math.abs(a[i]!));
    }
    expect(diff / scale, 'relative change of the DMOL parameters when the conditioning changes').toBeGreaterThan(1e-3);
    x.dispose();
  });

  it('counts the paper configuration at ~105M parameters without allocating it', () => {
    const paper = new Agave(CONFIGS.paper, { variant: 'identity' });
    const n = paper.builder.count();
    console.log(`paper config: ${n.toLocaleString('en-US')} parameters`);
    expect(n).toBeGreaterThan(90e6);
    expect(n).toBeLessThan(120e6);
  });

  it('rejects images whose size does not fit the three PixelCNN stages', () => {
    const bad = engine.zeros([1, 6, 6, 3]);
    expect(() => model.pixelcnn.forward(ctx(), bad, bad)).toThrow(/must be divisible by 4/);
    bad.dispose();
    void ops;
  });
});

describe('pixel units', () => {
  it('pixelsOf inverts the VAE input mapping: a perfect reconstruction is every pixel value exactly (PSNR infinite)', async () => {
    const x = engine.tensor(Float32Array.from({ length: 256 }, (_, i) => i), [1, 16, 16, 1]);
    const back = await engine.noGrad(() => pixelsOf(Agave.vaeInput(x))).read();
    const worst = Math.max(...back.map((v, i) => Math.abs(v - i)));
    expect(worst, `pixelsOf(vaeInput(k)) - k over k = 0..255: worst ${worst}`).toBeLessThan(1e-4);
    const shown = await engine.noGrad(() => toPixels(Agave.vaeInput(x))).read();
    expect(Math.max(...shown.map((v, i) => Math.abs(v - i)))).toBeLessThan(1e-4);
    x.dispose();
  });
});
