// Pieces of the PixelCNN++ gated residual block (docs/MODEL.md §2.4), each one fused kernel forward and one
// fused kernel backward, channels last (NHWC):
//   concatElu(x)          [..., C] -> [..., 2C]   elu(concat([x, -x], -1)), optionally fused with dropout
//   gate(c2, residual)    [..., 2F], [..., F] -> [..., F]   residual + A * sigmoid(B), A|B = halves of c2
// The dropout fused into concatElu draws the noise of engine/ops/dropout.ts; the element index is the index in
// the [..., 2C] output, so concatElu(x, { dropout }) draws exactly the mask dropout(concatElu(x)) draws.
import { KERNELS } from '../kernels.js';
import { type Tensor, fmtShape } from '../tensor.js';
import { dropoutNoiseParams, unusedOutput, type DropoutNoise } from '../ops/index.js';

/** Dropout fused into concatElu; `training: false` (default true) turns it off. */
export interface FusedDropout extends DropoutNoise {
  training?: boolean;
}

const groups = (n: number): number => Math.ceil(n / 256);
/** Elements per invocation (the kernels' GROUP): 4 when the row length is a multiple of 4 (then they share a row). */
const groupOf = (rowLength: number): number => (rowLength % 4 === 0 ? 4 : 1);


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
  const noise = dropout ? dropoutNoiseParams(dropout, 'concatElu') : { stream: 0, stream_hi: 0, key0: 0, key1: 0, p: 0, scale: 1, offset: 0 };
  if (2 * n > 0xffffffff) throw new Error(`concatElu: ${fmtShape(x.shape)} is too large for u32 indexing`);
  const params = { n, c, ...noise, c1 };
  const pair = x2 !== null;
  const y = e.empty(outShape, 'concatElu');
  const group = groupOf(c);
  if (n > 0) {
    e.dispatch({ kernel: KERNELS.concat_elu, overrides: { DROPOUT: withDropout, PAIR: pair, NEGATIVE: negative, GROUP: group }, params, inputs: { x, x2: x2 ?? x }, outputs: { y }, workgroups: groups(n / group), label: negative ? 'concatElu' : 'eluPair' });
  }
  return e.tape.record(negative ? 'concatElu' : 'eluPair', y, x2 ? [x, x2] : [x], (g, sinks) => {
    // Added straight into an input's pending gradient when the tape offers it (engine/tape.ts sinks).
    const sink = sinks[0]?.mode === 'accumulate' ? sinks[0].tensor : null;
    const sink2 = sinks[1]?.mode === 'accumulate' ? sinks[1].tensor : null;
    const dx = sink ?? e.empty(x.shape, 'concatElu.backward');
    const dx2 = x2 ? (sink2 ?? e.empty(x2.shape, 'concatElu.backward')) : null;
    if (n > 0) {
      e.dispatch({
        kernel: KERNELS.concat_elu_backward,
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
  if (y.size > 0) e.dispatch({ kernel: KERNELS.gate, overrides: { GROUP: group }, params, inputs: { c2, residual }, outputs: { y }, workgroups: groups(y.size / group), label: 'gate' });
  return e.tape.record('gate', y, [c2, residual], (g, sinks) => {
    // The residual's gradient is g itself: a view, or added in the same kernel to a pending gradient the
    // tape offers (engine/tape.ts sinks).
    const dc2 = e.empty(c2.shape, 'gate.backward');
    const sink = residual.requiresGrad && sinks[1]?.mode === 'accumulate' ? sinks[1].tensor : null;
    if (y.size > 0) {
      e.dispatch({ kernel: KERNELS.gate_backward, overrides: { RESIDUAL: sink ? 1 : 0, GROUP: group }, params, inputs: { c2, g }, outputs: { dc2, dresidual: sink ?? unusedOutput(e) }, workgroups: groups(y.size / group), label: 'gate.backward' });
    }
    const dr = !residual.requiresGrad ? null : (sink ?? e.view(g, residual.shape, 'gate.backward'));
    return [dc2, dr];
  });
}
