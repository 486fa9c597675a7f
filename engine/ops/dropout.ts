// Inverted dropout: keep each element with probability 1 - p and scale the kept ones by 1/(1 - p).
// Noise: Philox4x32-10 with key = the seed's two 32-bit halves and counter (element index, stream,
// DROPOUT_KIND = 2, stream_hi) (the stream's low and high words: engine/kernels.ts streamWords); word 0 mapped to (0,1) as (w >> 8 + 0.5) / 2^24; an element is kept when it is >= p.
// Kind 2 is distinct from the engine's uniform (0) and normal (1) draws. The backward regenerates the mask
// from the counter instead of storing it. The counter's element index is offset + i (offset 0 unless given: a
// part of a larger tensor, e.g. a data-parallel rank's images, draws that part of the whole mask). Fused variants (engine/generative/gated.ts concatElu) draw the same
// noise from these parameters.
import { KERNELS, counterOffset, streamWords } from '../kernels.js';
import { type Tensor, fmtShape } from '../tensor.js';

/** The Philox counter `kind` word used by dropout (0 and 1 are the engine's uniform and normal). */
export const DROPOUT_KIND = 2;

export interface DropoutNoise {
  /** Drop probability in [0, 1). */
  p: number;
  /** Non-negative safe integer; its two 32-bit halves are the Philox key. */
  seed: number;
  /** Stream number (u32): use a different one per dropout site and step. */
  stream: number;
  /**
   * Counter offset (default 0): element i is masked as element offset + i of the same draw, so a part of a
   * larger batch (a data-parallel rank's images) gets the mask those images get in the whole batch.
   */
  offset?: number;
}

export interface DropoutOptions extends DropoutNoise {
  /** false: identity (evaluation). */
  training: boolean;
}

/** The dropout kernels' noise parameters, checked (each error names `op`). */
export function dropoutNoiseParams(d: DropoutNoise, op: string): { stream: number; stream_hi: number; key0: number; key1: number; p: number; scale: number; offset: number } {
  if (!(d.p >= 0 && d.p < 1)) throw new Error(`${op}: dropout probability must be in [0, 1), got ${d.p}`);
  if (!Number.isSafeInteger(d.seed) || d.seed < 0) throw new Error(`${op}: dropout seed must be a non-negative safe integer, got ${d.seed}`);
  return { ...streamWords(d.stream, op), key0: d.seed % 0x100000000, key1: Math.floor(d.seed / 0x100000000), p: d.p, scale: 1 / (1 - d.p), offset: counterOffset(d.offset ?? 0, op) };
}

function dropoutRaw(x: Tensor, params: ReturnType<typeof dropoutNoiseParams>, label: string): Tensor {
  const e = x.engine;
  const y = e.empty(x.shape, label);
  if (x.size > 0) e.dispatch({ kernel: KERNELS.dropout, params: { n: x.size, ...params }, inputs: { x }, outputs: { y }, workgroups: Math.ceil(x.size / 256), label });
  return y;
}

/**
 * Inverted dropout: keep each element with probability 1 - p and scale kept values by 1/(1 - p) (as f32).
 * When !training or p = 0 it is the identity and returns `x` itself (no copy, nothing recorded).
 */
export function dropout(x: Tensor, p: number, opts: { seed: number; stream: number; training: boolean; offset?: number }): Tensor {
  const params = dropoutNoiseParams({ p, seed: opts.seed, stream: opts.stream, ...(opts.offset !== undefined ? { offset: opts.offset } : {}) }, 'dropout');
  if (!opts.training || p === 0) return x;
  if (x.size > 0xffffffff) throw new Error(`dropout: ${fmtShape(x.shape)} is too large for u32 indexing`);
  const y = dropoutRaw(x, params, 'dropout');
  return x.engine.tape.record('dropout', y, [x], (g) => [dropoutRaw(g, params, 'dropout.backward')]);
}
