// The AGAVE model on the engine (tiny config, 8x8 images): a whole-model directional gradient check over
// parameters of every kind, PixelCNN++ causality with the conditioning stream on, the conditioning actually
// changing the PixelCNN output, and finite, near-uniform bits/dim at initialisation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectCausal } from '../helpers/causality.js';
import { Engine, ParameterSet, ops, type Tensor } from '../../engine/index.js';
import { Agave, Ctx } from '../../model/agave.js';
import { CONFIGS } from '../../model/config.js';
import { loadBundledSample, gatherBatch } from '../../train/data.js';
import { fitImages } from '../../train/trainer.js';
import { mulberry32 } from '../reference/gradcheck.js';

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
    const ctx = new Ctx(engine, params, true, true, { p: 0, seed: 3 }, 0);
    engine.noGrad(() => model.loss(ctx, x255, { lambda: 1, phase: 'joint', useAux: true }));
  });
  await engine.sync();
});

afterAll(() => {
  params.dispose();
  engine.dispose();
});

function ctx(stream = 1 << 20): Ctx {
  return new Ctx(engine, params, false, false, { p: 0, seed: 3 }, stream);
}

async function lossValue(): Promise<number> {
  return engine.asyncScope(async () => engine.noGrad(() => model.loss(ctx(), x255, { lambda: 2, phase: 'joint', useAux: true }).loss).item());
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
    expect(kl).toBeGreaterThanOrEqual(0);
    console.log(`init: pixelcnn ${bpd(pc, model.dims).toFixed(3)} aux ${bpd(aux, model.auxDims).toFixed(3)} kl ${bpd(kl, model.dims).toFixed(4)} bits/dim; ${params.count} parameters`);
  });

  it('whole-model directional gradient check over parameters of every kind', async () => {
    const kinds = [
      'pcnn.stem_u.V', 'pcnn.up0.0.ul.conv1.g', 'pcnn.down1.0.u.nin_a.V', 'pcnn.upsample0.u.V', 'pcnn.head.b', 'cond.layer2.V',
      'vae.stem.V', 'vae.layer1.0.up_a.b', 'vae.layer0.0.ar1.V', 'vae.layer1.0.down_b.V', 'vae.h_top', 'vae.head.g', 'aux.log_scale',
    ];
    // Gradient at the current parameters.
    const grads = await engine.asyncScope(async () => {
      params.zeroGrad();
      const t = model.loss(ctx(), x255, { lambda: 2, phase: 'joint', useAux: true });
      engine.backward(t.loss);
      const out = new Map<string, Float32Array>();
      for (const k of kinds) out.set(k, await params.get(k)!.grad!.read());
      return out;
    });
    const rng = mulberry32(99);
    for (const name of kinds) {
      const p = params.get(name)!;
      const base = await p.read();
      const g = grads.get(name)!;
      const t = Float32Array.from({ length: base.length }, () => rng() * 2 - 1);
      let dot = 0;
      for (let i = 0; i < t.length; i++) dot += g[i]! * t[i]!;
      // Step so the loss (~1e3 nats, float32 ulp ~1e-4) moves by up to 0.5 nats, but each parameter by at
      // most 2% of the parameter's scale, so curvature stays small.
      const scale = Math.max(0.05, ...Array.from(base, Math.abs));
      const h = Math.min(0.02 * scale, 0.5 / Math.max(Math.abs(dot), 1e-6));
      engine.write(p, base.map((v, i) => v + h * t[i]!));
      const up = await lossValue();
      engine.write(p, base.map((v, i) => v - h * t[i]!));
      const down = await lossValue();
      engine.write(p, base);
      const fd = (up - down) / (2 * h);
      const err = Math.abs(fd - dot) / Math.max(Math.abs(fd), Math.abs(dot), 1e-3);
      expect(err, `${name} ${JSON.stringify(p.shape)}: <grad, t> = ${dot}, finite difference (h=${h.toExponential(2)}) = ${fd}`).toBeLessThan(0.03);
    }
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
