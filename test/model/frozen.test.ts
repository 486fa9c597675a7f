// The frozen context of the autoregressive sampler (Ctx.freeze): effective weights, the conditioning stream and
// its injections are computed on the first pass and reused. Later passes on changed pixels must give exactly
// the outputs of an ordinary pass (nothing that depends on x may be memoised), with fewer dispatches.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine, ParameterSet } from '../../engine/index.js';
import { Agave, Ctx } from '../../model/agave.js';
import { CONFIGS } from '../../model/config.js';
import { mulberry32 } from '../reference/gradcheck.js';

let engine: Engine;
let model: Agave;
let params: ParameterSet;
const B = 2;
const S = CONFIGS.tiny.imageSize;

beforeAll(async () => {
  engine = await Engine.create({ seed: 1, poison: true });
  model = new Agave(CONFIGS.tiny, { variant: '4x4' });
  params = ParameterSet.create(engine, model.builder.specs, 7);
  const x = engine.uniform([4, S, S, 3], 0, 255, { seed: 3 }).keep();
  engine.scope(() => {
    const ctx = new Ctx(engine, params, { seed: 1, init: true, training: true });
    engine.noGrad(() => model.loss(ctx, x, { lambda: 1, phase: 'joint', useAux: true }));
  });
  x.dispose();
  await engine.sync();
});

afterAll(() => {
  params.dispose();
  engine.dispose();
});

describe('frozen sampling context', () => {
  it('gives bit-identical PixelCNN outputs to an ordinary pass, pass after pass, with fewer dispatches', async () => {
    const rng = mulberry32(2);
    const fz = engine.uniform([B, 4, 4, 3], -0.4, 0.4, { seed: 9 }).keep();
    const cond = engine.noGrad(() => model.conditioning(fz)).keep();
    const frozen = new Ctx(engine, params, { seed: 1 }).freeze();
    const counts: { plain: number; frozen: number }[] = [];
    for (let pass = 0; pass < 3; pass++) {
      const x = Float32Array.from({ length: B * S * S * 3 }, () => rng() * 2 - 1);
      const out = async (ctx: Ctx): Promise<{ y: Float32Array; dispatches: number }> => {
        const d0 = engine.runner.dispatchCount;
        const y = await engine.asyncScope(async () => engine.noGrad(() => model.pixelcnn.forward(ctx, engine.tensor(x, [B, S, S, 3]), cond)).read());
        return { y, dispatches: engine.runner.dispatchCount - d0 };
      };
      const a = await out(new Ctx(engine, params, { seed: 1 }));
      const b = await out(frozen);
      expect(b.y.every((v, i) => v === a.y[i]), `pass ${pass}: the frozen context changed the PixelCNN output`).toBe(true);
      counts.push({ plain: a.dispatches, frozen: b.dispatches });
    }
    // The first frozen pass computes what it keeps (the effective weights, one dispatch since the all-layers
    // weight norm, and the conditioning stream with its injections); later ones reuse it.
    expect(counts[1]!.frozen, JSON.stringify(counts)).toBeLessThan(counts[0]!.frozen);
    expect(counts[1]!.frozen, JSON.stringify(counts)).toBeLessThan(counts[1]!.plain * 0.85);
    expect(counts[2]!.frozen).toBe(counts[1]!.frozen);
    console.log(`PixelCNN pass, tiny config: ${counts[1]!.plain} dispatches plain, ${counts[1]!.frozen} frozen`);
    frozen.releaseFrozen();
    cond.dispose();
    fz.dispose();
    expect(() => new Ctx(engine, params, { seed: 1, training: true }).freeze()).toThrow(/only for evaluation passes/);
  });
});
