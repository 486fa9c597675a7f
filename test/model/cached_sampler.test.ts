// The cached PixelCNN++ sampler (model/pixelcnn_cached.ts) against the naive one (a full network pass per
// pixel): same seed, same noise, so the DMOL parameters of every pixel must agree (<= 1e-5) and the images must be
// identical (test/helpers/cached_sampler.ts). Tiny config at 8x8 (three resolutions 8 -> 4 -> 2: both strided
// down-samplers and transposed up-samplers) and the small config's PixelCNN (M = 3) on a non-square 8x12 image
// (coarse maps 4x6 and 2x3), both conditional with a random conditioning image, after data-dependent init
// (non-trivial weights). With 2 gated resnets per stage: test/model/structure.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine, ParameterSet } from '../../engine/index.js';
import { Ctx, ParamBuilder } from '../../model/layers.js';
import { PixelCnn } from '../../model/pixelcnn.js';
import { drawPixels } from '../../model/sampler.js';
import { CONFIGS } from '../../model/config.js';
import { compareSamplers } from '../helpers/cached_sampler.js';

let plainEngine: Engine;
let poisonedEngine: Engine;

// The tiny conditional case runs with poisoning (every output NaN before its kernel runs: a window an op leaves
// unwritten cannot pass); the others without, which halves their dispatches (each op's own kernel test is poisoned).
beforeAll(async () => {
  poisonedEngine = await Engine.create({ seed: 1, poison: true });
  plainEngine = await Engine.create({ seed: 1, poison: false });
});

afterAll(() => {
  plainEngine.dispose();
  poisonedEngine.dispose();
});

describe('cached PixelCNN++ sampler', () => {
  it('tiny config, 8x8 (8 -> 4 -> 2), conditional: identical parameters at every pixel and identical images', async () => {
    const r = await compareSamplers(poisonedEngine, CONFIGS.tiny, 2, 8, 8);
    console.log(`cached sampler, tiny 8x8: max |diff| ${r.maxDiff}; dispatches per pixel: naive ${r.naiveDispatches.toFixed(0)}, cached ${r.cachedDispatches.toFixed(1)}`);
  });

  it('small config PixelCNN (M = 3) on 8x12 (coarse 4x6, 2x3), conditional', async () => {
    const r = await compareSamplers(plainEngine, CONFIGS.small, 2, 8, 12);
    console.log(`cached sampler, small 8x12: max |diff| ${r.maxDiff}; dispatches per pixel: naive ${r.naiveDispatches.toFixed(0)}, cached ${r.cachedDispatches.toFixed(1)}`);
  });

  it('unconditional PixelCNN++ (the pixelcnn baseline), tiny, 4x8 (coarse 2x4, 1x2)', async () => {
    await compareSamplers(plainEngine, CONFIGS.tiny, 1, 4, 8, false);
  });

  it('drawPixels (the trainer\'s loop): naive and cached draw the same images, tiny 4x8, batch 2', async () => {
    const engine = plainEngine;
    const b = new ParamBuilder();
    const pc = new PixelCnn(b, { ...CONFIGS.tiny.pixelcnn, dropout: 0, channels: 3, condChannels: 3 });
    const params = ParameterSet.create(engine, b.specs, 8);
    const cond = engine.uniform([2, 4, 8, 3], -1, 1, { seed: 4 }).keep();
    const draw = async (sampler: 'naive' | 'cached'): Promise<{ x: Float32Array; rows: number[] }> => {
      const ctx = new Ctx(engine, params, { seed: 3, streamBase: 99 }).freeze();
      const canvas = engine.zeros([2, 4, 8, 3]).keep();
      const rows: number[] = [];
      await drawPixels(ctx, pc, canvas, cond, { sampler, seed: 3, stream: ctx.nextStream(), onRow: (r) => rows.push(r) });
      const x = await canvas.read();
      canvas.dispose();
      ctx.releaseFrozen();
      return { x, rows };
    };
    const [a, c] = [await draw('naive'), await draw('cached')];
    expect(a.rows).toEqual([0, 1, 2, 3]);
    expect(c.rows).toEqual([0, 1, 2, 3]);
    const bad = a.x.findIndex((v, i) => v !== c.x[i]);
    expect(bad, `drawPixels tiny 2x4x8: value ${bad} naive ${a.x[bad]}, cached ${c.x[bad]}`).toBe(-1);
    cond.dispose();
    params.dispose();
  });
});
