// The paper's baselines from AGAVE's parts (model/agave.ts kinds), tiny config, 8x8 images: PixelCNN++ alone
// (unconditional: no conditioning stream, no VAE) and the IAF-VAE alone (its decoder modelling x with the
// discretized logistic, K = 256). For each: finite losses near the uniform 8 bits/dim after data-dependent
// init, the terms it has and lacks; PixelCNN++ alone is causal; the settings only AGAVE has are refused. Their
// loss terms and every parameter tensor's gradient are checked against the float64 reference of the model in
// agave_reference.test.ts (not the GPU's gradient against the GPU's own loss, which a wrong loss passes).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectCausal } from '../helpers/causality.js';
import { Engine, ParameterSet, ops, type Tensor } from '../../engine/index.js';
import { Agave, Ctx, type ModelKind } from '../../model/agave.js';
import { CONFIGS } from '../../model/config.js';
import { loadBundledSample, gatherBatch } from '../../train/data/datasets.js';
import { fitImages } from '../../train/trainer.js';

let engine: Engine;
let x255: Tensor;
const B = 4;
const S = CONFIGS.tiny.imageSize;
const models = new Map<ModelKind, { model: Agave; params: ParameterSet }>();

beforeAll(async () => {
  engine = await Engine.create({ seed: 11, poison: true });
  const data = fitImages(loadBundledSample().train, S);
  x255 = engine.tensor(gatherBatch(data, [0, 1, 2, 3]), [B, S, S, 3]).keep();
  for (const kind of ['pixelcnn', 'vae'] as const) {
    const model = new Agave(CONFIGS.tiny, { variant: 'identity' }, 3, kind);
    const params = ParameterSet.create(engine, model.builder.specs, 5);
    engine.scope(() => {
      const ctx = new Ctx(engine, params, { seed: 3, init: true, training: true });
      engine.noGrad(() => model.loss(ctx, x255, { lambda: 1, phase: 'joint', useAux: true }));
    });
    if (kind === 'vae') await model.initAuxLogScale(new Ctx(engine, params, { seed: 3, streamBase: 1 << 24 }), x255);
    models.set(kind, { model, params });
  }
  await engine.sync();
});

afterAll(() => {
  for (const m of models.values()) m.params.dispose();
  engine.dispose();
});

function ctxOf(kind: ModelKind, stream = 1 << 20): Ctx {
  return new Ctx(engine, models.get(kind)!.params, { seed: 3, streamBase: stream });
}

const bpd = (n: number, d: number): number => n / (d * Math.LN2);

describe('PixelCNN++ alone (--model pixelcnn)', () => {
  it('has no VAE and no conditioning stream; finite NLL near 8 bits/dim; no KL, no aux term', async () => {
    const { model, params } = models.get('pixelcnn')!;
    const names = model.builder.specs.map((s) => s.name);
    expect(names.filter((n) => !n.startsWith('pcnn.')), 'parameters outside the PixelCNN++').toEqual([]);
    expect(names.filter((n) => n.includes('nin_c')), 'conditioning shortcuts').toEqual([]);
    expect(model.hasVae).toBe(false);
    expect(() => model.vae).toThrow(/has no VAE/);
    const counts = model.parameterCounts();
    expect(counts).toEqual({ total: params.count, vae: 0, pixelcnn: params.count });
    const v = await engine.asyncScope(async () => {
      const t = engine.noGrad(() => model.loss(ctxOf('pixelcnn'), x255, { lambda: 1, phase: 'joint', useAux: true }));
      expect(t.auxNll).toBeNull();
      expect(t.auxMean).toBeNull();
      expect(t.klLayers).toEqual([]);
      return [await t.loss.item(), await t.pixelcnnNll!.item(), await t.klTrue.item(), ...(await t.perImage.kl.read()), await ops.mean(t.perImage.xNll!).item()];
    });
    const [loss, pc, kl, ...rest] = v as number[];
    expect([loss, pc, kl, ...rest].every(Number.isFinite), `terms ${v}`).toBe(true);
    expect(loss, 'the loss is the PixelCNN NLL').toBe(pc);
    expect(kl).toBe(0);
    expect(rest.slice(0, B)).toEqual([0, 0, 0, 0]);
    expect(Math.abs(rest[B]! - pc!) / pc!, 'per-image NLL averages to the NLL').toBeLessThan(1e-5);
    expect(bpd(pc!, model.dims)).toBeGreaterThan(7);
    expect(bpd(pc!, model.dims)).toBeLessThan(10.5);
    console.log(`PixelCNN++ alone at init: ${bpd(pc!, model.dims).toFixed(3)} bits/dim; ${params.count} parameters`);
  });


  it('is causal: the output at p ignores pixels >= p in raster order', async () => {
    const { model } = models.get('pixelcnn')!;
    await expectCausal('PixelCNN++ alone', (data) => engine.asyncScope(async () => engine.noGrad(() => model.pixelcnn.forward(ctxOf('pixelcnn'), engine.tensor(data, [B, S, S, 3]), null)).read()), [B, S, 3], [[0, 0], [2, 5], [4, 0], [7, 7]]);
  });
});

describe('IAF-VAE alone (--model vae)', () => {
  it('has no PixelCNN; its decoder models x (K = 256); loss = -log p(x|z) + lambda * KL objective', async () => {
    const { model, params } = models.get('vae')!;
    const names = model.builder.specs.map((s) => s.name);
    expect(names.filter((n) => Agave.partOf(n) === 'pixelcnn'), 'PixelCNN parameters').toEqual([]);
    expect(model.hasPixelcnn).toBe(false);
    expect(() => model.pixelcnn).toThrow(/has no PixelCNN/);
    expect([model.levels, model.auxDims, model.dims]).toEqual([256, 3 * S * S, 3 * S * S]);
    const v = await engine.asyncScope(async () => {
      const t = engine.noGrad(() => model.loss(ctxOf('vae'), x255, { lambda: 3, phase: 'joint', useAux: false }));
      expect(t.pixelcnnNll).toBeNull();
      expect(t.perImage.pixelcnnNll).toBeNull();
      return [await t.loss.item(), await t.auxNll!.item(), await t.klTrue.item(), await t.klObjective.item(), await ops.mean(t.perImage.xNll!).item()];
    });
    const [loss, aux, kl, klObj, xNll] = v as [number, number, number, number, number];
    expect([loss, aux, kl, klObj, xNll].every(Number.isFinite), `terms ${v}`).toBe(true);
    // The reconstruction term stays in the loss even with useAux false: it is the model of x.
    expect(Math.abs(loss - (aux + 3 * klObj)) / loss, `loss ${loss} vs aux ${aux} + 3 * ${klObj}`).toBeLessThan(1e-5);
    expect(Math.abs(xNll - aux) / aux, 'per-image -log p(x|z) averages to the aux NLL').toBeLessThan(1e-5);
    // klTrue is a one-sample estimate of KL(q || p), log q(z|x) - log p(z) at one z ~ q (with the IAF log-det):
    // it may be negative. Its mean over independent posterior samples estimates the true KL >= 0, so that mean
    // must not lie significantly below 0 (3 standard errors), and the draws must differ (they are samples).
    const draws: number[] = [];
    for (let k = 0; k < 16; k++) {
      draws.push(await engine.asyncScope(async () => engine.noGrad(() => model.loss(ctxOf('vae', (1 << 21) + k * 4096), x255, { lambda: 3, phase: 'joint', useAux: false }).klTrue).item()));
    }
    const mean = draws.reduce((a, v) => a + v, 0) / draws.length;
    const sd = Math.sqrt(draws.reduce((a, v) => a + (v - mean) ** 2, 0) / (draws.length - 1));
    const se = sd / Math.sqrt(draws.length);
    expect(draws.every(Number.isFinite), `KL draws ${draws}`).toBe(true);
    expect(sd, `KL draws over 16 posterior samples should differ: ${draws}`).toBeGreaterThan(0);
    expect(mean + 3 * se, `Monte-Carlo KL over 16 posterior samples: mean ${mean} nats, standard error ${se}`).toBeGreaterThanOrEqual(0);
    console.log(`IAF-VAE alone at init: Monte-Carlo KL ${mean.toFixed(4)} +- ${se.toFixed(4)} nats per image (16 samples; one-sample draws ${Math.min(...draws).toFixed(3)} .. ${Math.max(...draws).toFixed(3)})`);
    expect(bpd(aux + kl, model.dims), 'bits/dim at init').toBeLessThan(12);
    expect(bpd(aux + kl, model.dims), 'bits/dim at init').toBeGreaterThan(3);
    console.log(`IAF-VAE alone at init: -log p(x|z) ${bpd(aux, model.dims).toFixed(3)} + KL ${bpd(kl, model.dims).toFixed(4)} bits/dim; ${params.count} parameters`);
  });
});

describe('model kinds', () => {
  it('refuse an auxiliary image other than the identity for the baselines', () => {
    expect(() => new Agave(CONFIGS.tiny, { variant: '4x4' }, 3, 'vae')).toThrow(/model kind vae: the auxiliary image must be the identity/);
    expect(() => new Agave(CONFIGS.tiny, { variant: 'levels', levels: 16 }, 3, 'pixelcnn')).toThrow(/model kind pixelcnn/);
    // AGAVE's own parameter count is the sum of the two baselines' plus the conditioning stream's.
    const count = (k: ModelKind): number => new Agave(CONFIGS.tiny, { variant: 'identity' }, 3, k).builder.count();
    const agave = new Agave(CONFIGS.tiny, { variant: 'identity' });
    const cond = agave.builder.specs.filter((s) => s.name.startsWith('cond.') || s.name.includes('nin_c')).reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0);
    expect(count('agave')).toBe(count('pixelcnn') + count('vae') + cond);
  });
});
