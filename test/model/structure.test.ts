// The paper's structure in small (test/helpers/configs.ts STRUCTURE: 2 gated resnets per PixelCNN stage, 2
// levels of 2 IAF blocks, 8x8): the conditional PixelCNN++ is causal, and the cached sampler draws exactly what
// the naive one does (every resnet's cache, skip connection and conditioning injection). Why: every other model
// test has one resnet per stage, where a skip connection or cache taken from the wrong resnet cannot show; the
// loss and every gradient at this structure are checked against the float64 reference in agave_reference.test.ts.
// (A file of its own: on lavapipe every live bind group holds a memory mapping, and the sampler tests of
// cached_sampler.test.ts already bring that process near Linux's default limit of 65,530 mappings.)
import { afterAll, beforeAll, describe, it } from 'vitest';
import { Engine, ParameterSet } from '../../engine/index.js';
import { Agave, Ctx } from '../../model/agave.js';
import { STRUCTURE } from '../helpers/configs.js';
import { compareSamplers } from '../helpers/cached_sampler.js';
import { expectCausal } from '../helpers/causality.js';

const B = 2;
const S = STRUCTURE.imageSize;
let engine: Engine;
/** Without NaN poisoning for the sampler comparison: half the dispatches (and bind groups, see above). */
let plainEngine: Engine;

beforeAll(async () => {
  engine = await Engine.create({ seed: 7, poison: true });
  plainEngine = await Engine.create({ seed: 7, poison: false });
});

afterAll(() => {
  engine.dispose();
  plainEngine.dispose();
});

describe(`the paper's structure in small (${STRUCTURE.name}: 2 resnets per stage, 2 levels x 2 IAF blocks)`, () => {
  it('the conditional PixelCNN++ is causal: the output at p ignores pixels >= p in raster order', async () => {
    const model = new Agave(STRUCTURE, { variant: 'identity' });
    const params = ParameterSet.create(engine, model.builder.specs, 5);
    const cond = engine.uniform([B, S, S, 3], -1, 1, { seed: 8 }).keep();
    try {
      // Data-dependent init on random images (non-trivial weights everywhere).
      engine.scope(() => {
        const x255 = engine.uniform([B, S, S, 3], 0, 255, { seed: 9 });
        engine.noGrad(() => model.loss(new Ctx(engine, params, { seed: 3, init: true }), x255, { lambda: 1, phase: 'joint', useAux: true }));
        return undefined;
      });
      const ctx = new Ctx(engine, params, { seed: 3, streamBase: 1 << 20 });
      await expectCausal(`conditional PixelCNN++ (${STRUCTURE.name})`, (data) => engine.asyncScope(async () => engine.noGrad(() => model.pixelcnn.forward(ctx, engine.tensor(data, [B, S, S, 3]), cond)).read()), [B, S, 3], [[0, 0], [1, 7], [3, 2], [4, 0], [6, 5], [7, 7]]);
    } finally {
      cond.dispose();
      params.dispose();
    }
  });

  it('the cached sampler draws what the naive one draws: identical parameters at every pixel and identical images (8x8, conditional)', async () => {
    const r = await compareSamplers(plainEngine, STRUCTURE, B, S, S);
    console.log(`cached sampler, ${STRUCTURE.name} 8x8: max |diff| ${r.maxDiff}; dispatches per pixel: naive ${r.naiveDispatches.toFixed(0)}, cached ${r.cachedDispatches.toFixed(1)}`);
  });
});
