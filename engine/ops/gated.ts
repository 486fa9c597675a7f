// Pieces of the PixelCNN++ gated residual block (MODEL_SPEC §2.4), each one fused kernel forward and one
// fused kernel backward, channels last (NHWC):
//   concatElu(x)          [..., C] -> [..., 2C]   elu(concat([x, -x], -1)), optionally fused with dropout
//   gate(c2, residual)    [..., 2F], [..., F] -> [..., F]   residual + A * sigmoid(B), A|B = halves of c2
//   dropout(x, p, opts)   inverted dropout (keep with prob 1-p, kept values scaled by 1/(1-p))
// Dropout noise: Philox4x32-10 with key = the seed's two 32-bit halves and counter (element index, stream,
// DROPOUT_KIND = 2, 0); word 0 mapped to (0,1) as (w >> 8 + 0.5) / 2^24; an element is kept when it is >= p.
// Kind 2 is distinct from the engine's uniform (0) and normal (1) draws. The backward regenerates the mask
// from the counter instead of storing it. For the fused concatElu+dropout the element index is the index in
// the [..., 2C] output, so concatElu(x, { dropout }) draws exactly the mask dropout(concatElu(x)) draws.
import type { KernelSource } from '../runner.js';
import { counterOffset, wgslPrelude } from '../kernels.js';
import { type Tensor, fmtShape } from '../tensor.js';
import { unusedOutput } from './scratch.js';
import concatEluSrc from '../../shaders/concat_elu.wgsl';
import concatEluBackwardSrc from '../../shaders/concat_elu_backward.wgsl';
import gateSrc from '../../shaders/gate.wgsl';
import gateBackwardSrc from '../../shaders/gate_backward.wgsl';
import dropoutSrc from '../../shaders/dropout.wgsl';

export const GATED_KERNELS = {
  concat_elu: { name: 'concat_elu', code: concatEluSrc, prelude: wgslPrelude('philox', 'math') } as KernelSource,
  concat_elu_backward: { name: 'concat_elu_backward', code: concatEluBackwardSrc, prelude: wgslPrelude('philox') } as KernelSource,
  gate: { name: 'gate', code: gateSrc, prelude: wgslPrelude('math') } as KernelSource,
  gate_backward: { name: 'gate_backward', code: gateBackwardSrc, prelude: wgslPrelude('math') } as KernelSource,
  dropout: { name: 'dropout', code: dropoutSrc, prelude: wgslPrelude('philox') } as KernelSource,
};

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

/** Dropout fused into concatElu; `training: false` (default true) turns it off. */
export interface FusedDropout extends DropoutNoise {
  training?: boolean;
}

export interface DropoutOptions extends DropoutNoise {
  /** false: identity (evaluation). */
  training: boolean;
}

const groups = (n: number): number => Math.ceil(n / 256);
/** Elements per invocation (the kernels' GROUP): 4 when the row length is a multiple of 4 (then they share a row). */
const groupOf = (rowLength: number): number => (rowLength % 4 === 0 ? 4 : 1);

function noiseParams(d: DropoutNoise, op: string): { stream: number; key0: number; key1: number; p: number; scale: number; offset: number } {
  if (!(d.p >= 0 && d.p < 1)) throw new Error(`${op}: dropout probability must be in [0, 1), got ${d.p}`);
  if (!Number.isSafeInteger(d.seed) || d.seed < 0) throw new Error(`${op}: dropout seed must be a non-negative safe integer, got ${d.seed}`);
  if (!Number.isInteger(d.stream) || d.stream < 0 || d.stream > 0xffffffff) throw new Error(`${op}: dropout stream must be a u32, got ${d.stream}`);
  return { stream: d.stream, key0: d.seed % 0x100000000, key1: Math.floor(d.seed / 0x100000000), p: d.p, scale: 1 / (1 - d.p), offset: counterOffset(d.offset ?? 0, op) };
}

function lastDim(x: Tensor, op: string): number {
  if (x.rank < 1) throw new Error(`${op}: input must have a channel axis, got shape ${fmtShape(x.shape)}`);
  return x.shape[x.rank - 1]!;
}

/**
 * elu(concat([x, -x], last axis)): [..., C] -> [..., 2C], one kernel. With `dropout` (and training !== false
 * and p > 0) the output is also multiplied by the inverted-dropout mask, in the same kernel; the mask equals
 * the one dropout(concatElu(x), p, { seed, stream, training: true }) draws.
 */
export function concatElu(x: Tensor, opts: { dropout?: FusedDropout } = {}): Tensor {
  return concatEluOf(x, null, opts.dropout);
}

/**
 * concatElu(concat([x, x2], last axis)) without materialising the concatenation (PixelCNN++'s down-pass ul
 * resnets see [u, ul_skip]): one kernel forward, one backward writing both inputs' gradients.
 */
export function concatEluPair(x: Tensor, x2: Tensor): Tensor {
  if (x2.engine !== x.engine) throw new Error('concatEluPair: tensors belong to different engines');
  const ok = x.rank === x2.rank && x.shape.every((d, i) => i === x.rank - 1 || d === x2.shape[i]);
  if (!ok) throw new Error(`concatEluPair: ${fmtShape(x.shape)} and ${fmtShape(x2.shape)} differ outside the channel axis`);
  return concatEluOf(x, x2, undefined);
}

/**
 * elu(concat([x, x2], last axis)) without materialising the concatenation (the IAF-VAE's elu of [z, h_det]):
 * one kernel forward, one backward writing both inputs' gradients.
 */
export function eluPair(x: Tensor, x2: Tensor): Tensor {
  if (x2.engine !== x.engine) throw new Error('eluPair: tensors belong to different engines');
  const ok = x.rank === x2.rank && x.shape.every((d, i) => i === x.rank - 1 || d === x2.shape[i]);
  if (!ok) throw new Error(`eluPair: ${fmtShape(x.shape)} and ${fmtShape(x2.shape)} differ outside the channel axis`);
  return concatEluOf(x, x2, undefined, false);
}

function concatEluOf(x: Tensor, x2: Tensor | null, dropout: FusedDropout | undefined, negative = true): Tensor {
  const e = x.engine;
  const c1 = lastDim(x, 'concatElu');
  const c = c1 + (x2 ? lastDim(x2, 'concatElu') : 0);
  const n = x.size + (x2?.size ?? 0);
  const outShape = [...x.shape.slice(0, -1), (negative ? 2 : 1) * c];
  const withDropout = dropout !== undefined && dropout.training !== false && dropout.p > 0;
  const noise = dropout ? noiseParams(dropout, 'concatElu') : { stream: 0, key0: 0, key1: 0, p: 0, scale: 1, offset: 0 };
  if (2 * n > 0xffffffff) throw new Error(`concatElu: ${fmtShape(x.shape)} is too large for u32 indexing`);
  const params = { n, c, ...noise, c1 };
  const pair = x2 !== null;
  const y = e.empty(outShape, 'concatElu');
  const group = groupOf(c);
  if (n > 0) {
    e.dispatch({ kernel: GATED_KERNELS.concat_elu, overrides: { DROPOUT: withDropout, PAIR: pair, NEGATIVE: negative, GROUP: group }, params, inputs: { x, x2: x2 ?? x }, outputs: { y }, workgroups: groups(n / group), label: negative ? 'concatElu' : 'eluPair' });
  }
  return e.tape.record(negative ? 'concatElu' : 'eluPair', y, x2 ? [x, x2] : [x], (g, sinks) => {
    // Added straight into an input's pending gradient when the tape offers it (engine/tape.ts sinks).
    const sink = sinks[0]?.mode === 'accumulate' ? sinks[0].tensor : null;
    const sink2 = sinks[1]?.mode === 'accumulate' ? sinks[1].tensor : null;
    const dx = sink ?? e.empty(x.shape, 'concatElu.backward');
    const dx2 = x2 ? (sink2 ?? e.empty(x2.shape, 'concatElu.backward')) : null;
    if (n > 0) {
      e.dispatch({
        kernel: GATED_KERNELS.concat_elu_backward,
        overrides: { DROPOUT: withDropout, ACCUMULATE: sink !== null, PAIR: pair, ACCUMULATE2: sink2 !== null, NEGATIVE: negative, GROUP: group },
        params,
        inputs: { x, g, x2: x2 ?? x },
        outputs: { dx, dx2: dx2 ?? unusedOutput(e) },
        workgroups: groups(n / group),
        label: negative ? 'concatElu.backward' : 'eluPair.backward',
      });
    }
    return x2 ? [dx, dx2] : [dx];
  });
}


/** residual + A * sigmoid(B), with A = first F channels of c2 [..., 2F] and B = the last F; residual [..., F]. */
export function gate(c2: Tensor, residual: Tensor): Tensor {
  const e = c2.engine;
  if (residual.engine !== e) throw new Error('gate: tensors belong to different engines');
  const f = lastDim(residual, 'gate');
  const ok = c2.rank === residual.rank && c2.shape.every((d, i) => (i === c2.rank - 1 ? d === 2 * f : d === residual.shape[i]));
  if (!ok) throw new Error(`gate: c2 ${fmtShape(c2.shape)} must be the residual's shape ${fmtShape(residual.shape)} with twice the channels`);
  const params = { n: residual.size, f };
  const group = groupOf(f);
  const y = e.empty(residual.shape, 'gate');
  if (y.size > 0) e.dispatch({ kernel: GATED_KERNELS.gate, overrides: { GROUP: group }, params, inputs: { c2, residual }, outputs: { y }, workgroups: groups(y.size / group), label: 'gate' });
  return e.tape.record('gate', y, [c2, residual], (g, sinks) => {
    // The residual's gradient is g itself: a view, or added in the same kernel to a pending gradient the
    // tape offers (engine/tape.ts sinks).
    const dc2 = e.empty(c2.shape, 'gate.backward');
    const sink = residual.requiresGrad && sinks[1]?.mode === 'accumulate' ? sinks[1].tensor : null;
    if (y.size > 0) {
      e.dispatch({ kernel: GATED_KERNELS.gate_backward, overrides: { RESIDUAL: sink ? 1 : 0, GROUP: group }, params, inputs: { c2, g }, outputs: { dc2, dresidual: sink ?? unusedOutput(e) }, workgroups: groups(y.size / group), label: 'gate.backward' });
    }
    const dr = !residual.requiresGrad ? null : (sink ?? e.view(g, residual.shape, 'gate.backward'));
    return [dc2, dr];
  });
}

function dropoutRaw(x: Tensor, params: ReturnType<typeof noiseParams>, label: string): Tensor {
  const e = x.engine;
  const y = e.empty(x.shape, label);
  if (x.size > 0) e.dispatch({ kernel: GATED_KERNELS.dropout, params: { n: x.size, ...params }, inputs: { x }, outputs: { y }, workgroups: groups(x.size), label });
  return y;
}

/**
 * Inverted dropout: keep each element with probability 1 - p and scale kept values by 1/(1 - p) (as f32).
 * When !training or p = 0 it is the identity and returns `x` itself (no copy, nothing recorded).
 */
export function dropout(x: Tensor, p: number, opts: { seed: number; stream: number; training: boolean; offset?: number }): Tensor {
  const params = noiseParams({ p, seed: opts.seed, stream: opts.stream, ...(opts.offset !== undefined ? { offset: opts.offset } : {}) }, 'dropout');
  if (!opts.training || p === 0) return x;
  if (x.size > 0xffffffff) throw new Error(`dropout: ${fmtShape(x.shape)} is too large for u32 indexing`);
  const y = dropoutRaw(x, params, 'dropout');
  return x.engine.tape.record('dropout', y, [x], (g) => [dropoutRaw(g, params, 'dropout.backward')]);
}
