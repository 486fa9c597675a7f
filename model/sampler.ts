// The autoregressive PixelCNN++ sampling loop, shared by the trainer's samples, the experiments' figures and the
// sampling benchmark. Two ways to get each pixel's DMOL parameters: 'naive', a full network pass per pixel (the
// reference), and 'cached' (model/pixelcnn_cached.ts), which recomputes only what the last pixel changed. Both
// draw pixel (row, col) of every image with the same Philox noise (seed, stream, position), so with the same
// seed they draw the same images.
import type { Tensor } from '../engine/index.js';
import * as gen from '../engine/generative/index.js';
import type { Ctx } from './layers.js';
import type { PixelCnn } from './pixelcnn.js';
import { CachedPixelCnn } from './pixelcnn_cached.js';

export type SamplerKind = 'naive' | 'cached';
export const SAMPLER_KINDS: readonly SamplerKind[] = ['cached', 'naive'];

export interface DrawOptions {
  sampler: SamplerKind;
  /** Philox key of the DMOL noise. */
  seed: number;
  /** Philox stream of the DMOL noise (the naive sampler's ctx.nextStream()). */
  stream: number;
  /** Stop after this many pixels in raster order (benchmarks); default all. */
  pixels?: number;
  /** Called after each row (its index) once the device has finished it. */
  onRow?: (row: number) => void;
  /** Awaited after the cached sampler's initial full pass (benchmarks time it alone). */
  afterInit?: () => Promise<void>;
  /** Polled after each row: true stops the drawing there (drawPixels then returns false). */
  stop?: () => boolean;
}

/**
 * Draws pixels into `canvas` [B, H, W, C] (in place, raster order) from the PixelCNN++ conditioned on `cond`
 * ([B, H, W, condChannels], or null for the unconditional model). `ctx` must be frozen (Ctx.freeze): the
 * effective weights and the conditioning stream are computed once. The canvas should start blank (zeros), as
 * the naive sampler's; pixels not yet drawn never influence drawn ones. Returns false when `opt.stop` ended the
 * drawing early (the canvas then holds the rows drawn so far), true when every pixel asked for was drawn.
 */
export async function drawPixels(ctx: Ctx, pixelcnn: PixelCnn, canvas: Tensor, cond: Tensor | null, opt: DrawOptions): Promise<boolean> {
  const e = ctx.engine;
  const [, H, W] = canvas.shape as [number, number, number, number];
  const M = pixelcnn.cfg.mixtures;
  const total = Math.min(opt.pixels ?? H * W, H * W);
  const cached = opt.sampler === 'cached' ? new CachedPixelCnn(ctx, pixelcnn, canvas, cond) : null;
  try {
    cached?.init();
    await opt.afterInit?.();
    for (let q = 0; q < total; q++) {
      const row = Math.floor(q / W);
      const col = q % W;
      e.scope(() => {
        e.noGrad(() => {
          if (cached) {
            if (q > 0) cached.update(q - 1);
            gen.dmolSample(cached.params, M, { seed: opt.seed, stream: opt.stream, position: { row, col }, canvas });
          } else {
            const p = pixelcnn.forward(ctx, canvas, cond);
            gen.dmolSample(p, M, { seed: opt.seed, stream: opt.stream, position: { row, col }, canvas });
          }
        });
        return undefined;
      });
      if (col === W - 1 || q === total - 1) {
        await e.sync();
        opt.onRow?.(row);
        if (q < total - 1 && opt.stop?.()) return false;
      }
    }
    return true;
  } finally {
    cached?.dispose();
  }
}
