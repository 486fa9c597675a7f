// The cached PixelCNN++ sampler (model/pixelcnn_cached.ts) against the naive one (a full network pass per
// pixel): same seed, same noise, so the DMOL parameters of every pixel must agree (<= 1e-5) and the images must be
// identical. Tiny config at 8x8 (three resolutions 8 -> 4 -> 2: both strided down-samplers and transposed
// up-samplers) and the small config's PixelCNN (M = 3) on a non-square 8x12 image (coarse maps 4x6 and 2x3),
// both conditional with a random conditioning image, after data-dependent init (non-trivial weights).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine, ops, ParameterSet, type Tensor } from '../../engine/index.js';
import * as gen from '../../engine/generative/index.js';
import { Ctx, ParamBuilder } from '../../model/layers.js';
import { PixelCnn } from '../../model/pixelcnn.js';
import { CachedPixelCnn } from '../../model/pixelcnn_cached.js';
import { drawPixels } from '../../model/sampler.js';
import { CONFIGS } from '../../model/config.js';

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

async function compare(cfgName: 'tiny' | 'small', B: number, H: number, W: number, conditional = true, poison = false): Promise<{ maxDiff: number; naiveDispatches: number; cachedDispatches: number }> {
  const engine = poison ? poisonedEngine : plainEngine;
  const b = new ParamBuilder();
  const pc = new PixelCnn(b, { ...CONFIGS[cfgName].pixelcnn, dropout: 0, channels: 3, condChannels: conditional ? 3 : 0 });
  const params = ParameterSet.create(engine, b.specs, 5);
  const M = pc.cfg.mixtures;
  const K = 10 * M;
  const cond = conditional ? engine.uniform([B, H, W, 3], -1, 1, { seed: 11 }).keep() : null;
  engine.scope(() => {
    const x = engine.uniform([B, H, W, 3], -1, 1, { seed: 12 });
    engine.noGrad(() => pc.forward(new Ctx(engine, params, { seed: 1, init: true, training: true }), x, cond));
    return undefined;
  });
  const seed = 77;
  const ctxN = new Ctx(engine, params, { seed: seed, streamBase: 0x1234 }).freeze();
  const ctxC = new Ctx(engine, params, { seed: seed, streamBase: 0x1234 }).freeze();
  const stream = ctxN.nextStream();
  expect(ctxC.nextStream()).toBe(stream);
  const canvasN = engine.zeros([B, H, W, 3]).keep();
  const canvasC = engine.zeros([B, H, W, 3]).keep();
  const cached = new CachedPixelCnn(ctxC, pc, canvasC, cond);
  cached.init();
  let maxDiff = 0;
  let naiveDispatches = 0;
  let cachedDispatches = 0;
  const at = (t: Tensor, row: number, col: number): Tensor => ops.slice(t, [0, row, col, 0], [B, row + 1, col + 1, K]);
  // Each pixel's parameters from both samplers are kept and read once at the end (no sync per pixel).
  const kept: { n: Tensor; c: Tensor }[] = [];
  try {
    for (let row = 0; row < H; row++)
      for (let col = 0; col < W; col++) {
        const q = row * W + col;
        const d0 = engine.runner.dispatchCount;
        if (q > 0) cached.update(q - 1);
        cachedDispatches += engine.runner.dispatchCount - d0;
        engine.scope(() => {
          const d1 = engine.runner.dispatchCount;
          const p = engine.noGrad(() => pc.forward(ctxN, canvasN, cond));
          naiveDispatches += engine.runner.dispatchCount - d1;
          kept.push({ n: at(p, row, col).keep(), c: at(cached.params, row, col).keep() });
          gen.dmolSample(p, M, { seed, stream, position: { row, col }, canvas: canvasN });
          gen.dmolSample(cached.params, M, { seed, stream, position: { row, col }, canvas: canvasC });
          return undefined;
        });
      }
    const [pn, pcached] = await engine.asyncScope(async () => [await ops.concat(kept.map((k) => k.n), 0).read(), await ops.concat(kept.map((k) => k.c), 0).read()] as const);
    for (let i = 0; i < pn.length; i++) {
      const d = Math.abs(pn[i]! - pcached[i]!);
      const q = Math.floor(i / (B * K));
      if (!(d <= 1e-5)) throw new Error(`cached PixelCNN (${cfgName}, ${B}x${H}x${W}): DMOL parameter ${i % K} of image ${Math.floor(i / K) % B} at pixel (${Math.floor(q / W)}, ${q % W}) differs by ${d} (naive ${pn[i]}, cached ${pcached[i]})`);
      maxDiff = Math.max(maxDiff, d);
    }
    const [xn, xc] = [await canvasN.read(), await canvasC.read()];
    const bad = xn.findIndex((v, i) => v !== xc[i]);
    expect(bad, `cached PixelCNN (${cfgName}, ${B}x${H}x${W}): first differing sample value at index ${bad}: naive ${xn[bad]}, cached ${xc[bad]}`).toBe(-1);
    // The images are not blank (the sampler wrote every pixel).
    expect(xn.some((v) => v !== 0)).toBe(true);
  } finally {
    for (const k of kept) {
      k.n.dispose();
      k.c.dispose();
    }
    cached.dispose();
    ctxN.releaseFrozen();
    ctxC.releaseFrozen();
    canvasN.dispose();
    canvasC.dispose();
    cond?.dispose();
    params.dispose();
  }
  return { maxDiff, naiveDispatches: naiveDispatches / (H * W), cachedDispatches: cachedDispatches / (H * W) };
}

describe('cached PixelCNN++ sampler', () => {
  it('tiny config, 8x8 (8 -> 4 -> 2), conditional: identical parameters at every pixel and identical images', async () => {
    const r = await compare('tiny', 2, 8, 8, true, true);
    console.log(`cached sampler, tiny 8x8: max |diff| ${r.maxDiff}; dispatches per pixel: naive ${r.naiveDispatches.toFixed(0)}, cached ${r.cachedDispatches.toFixed(1)}`);
  });

  it('small config PixelCNN (M = 3) on 8x12 (coarse 4x6, 2x3), conditional', async () => {
    const r = await compare('small', 2, 8, 12);
    console.log(`cached sampler, small 8x12: max |diff| ${r.maxDiff}; dispatches per pixel: naive ${r.naiveDispatches.toFixed(0)}, cached ${r.cachedDispatches.toFixed(1)}`);
  });

  it('unconditional PixelCNN++ (the pixelcnn baseline), tiny, 4x8 (coarse 2x4, 1x2)', async () => {
    await compare('tiny', 1, 4, 8, false);
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
