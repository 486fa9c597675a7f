// The cached PixelCNN++ sampler (model/pixelcnn_cached.ts) against the naive one (a full network pass per pixel),
// shared by the sampler tests of several model structures: same seed, same noise, so the DMOL parameters of
// every pixel must agree (<= 1e-5) and the sampled images must be identical.
import { expect } from 'vitest';
import { ops, ParameterSet, type Engine, type Tensor } from '../../engine/index.js';
import * as gen from '../../engine/generative/index.js';
import { Ctx, ParamBuilder } from '../../model/layers.js';
import { PixelCnn } from '../../model/pixelcnn.js';
import { CachedPixelCnn } from '../../model/pixelcnn_cached.js';
import type { ModelConfig } from '../../model/config.js';

/**
 * Samples B images of H x W with both samplers from one PixelCNN++ of `config` (conditional on a random image,
 * or not), after data-dependent init; fails on the first differing parameter or sample value. Returns the
 * largest parameter difference and the dispatches per pixel of each sampler.
 */
export async function compareSamplers(engine: Engine, config: ModelConfig, B: number, H: number, W: number, conditional = true): Promise<{ maxDiff: number; naiveDispatches: number; cachedDispatches: number }> {
  const cfgName = config.name;
  const b = new ParamBuilder();
  const pc = new PixelCnn(b, { ...config.pixelcnn, dropout: 0, channels: 3, condChannels: conditional ? 3 : 0 });
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
