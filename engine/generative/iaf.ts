// The IAF step of the IAF-VAE in the code form (docs/MODEL.md §3.4 item 7, §3.5), the form of the released
// openai/iaf code that produced the reported 3.11 / 3.15 bpd:
//   (m, s) = AR-NN(z, context), rescaled by 0.1;  z' = (z - 0.1 m) / exp(0.1 s);  log q += 0.1 s.
// iafStep(z, m, s) -> { z: z', logDet: 0.1 s } (elementwise; add logDet to the elementwise log q). The paper's
// LSTM-type form (sigmoid gate, Alg. 1) is equivalent up to reparameterisation; the paper reports
// location-only vs location+scale as nearly equal, so the code form is used because it matches the results.
// The AR-NN's masked convolutions live with the convolution ops; arChannelMask builds the centre-tap channel
// mask they need (§3.5).
//
// Two fused ops read the layer's parameters as channel windows of the convolutions that produce them, so the
// block needs no slices, adds or separate Gaussian kernels (each one kernel forward, one backward):
//   iafPosterior(up, down, eps, layout) -> { z0, logq0, context }: the posterior's parameters are sums of a
//     bottom-up and a top-down window; z0 ~ q by reparameterisation and its log-density, and the AR context;
//   iafKl(logq0, logDet, z, prior, layout) -> kl = logq0 + logDet - log p(z), p's parameters windows of prior.
import { KERNELS } from '../kernels.js';
import type { GradSink } from '../tape.js';
import { type Tensor, fmtShape } from '../tensor.js';

/** The factor the code form applies to the AR-NN outputs m and s. */
export const IAF_SCALE = 0.1;

export interface IafStepResult {
  /** z' = (z - 0.1 m) / exp(0.1 s), same shape as z */
  z: Tensor;
  /** 0.1 s elementwise: log q(z') = log q(z) + logDet (the log|det dz/dz'|, i.e. minus log|det dz'/dz|) */
  logDet: Tensor;
}

/** One IAF step, code form. z, m, s of the same shape; both outputs differentiable in z, m, s (one tape node). */
export function iafStep(z: Tensor, m: Tensor, s: Tensor): IafStepResult {
  const op = 'iafStep';
  for (const t of [m, s]) {
    if (t.rank !== z.rank || t.shape.some((d, i) => d !== z.shape[i])) throw new Error(`${op}: z ${fmtShape(z.shape)}, m ${fmtShape(m.shape)} and s ${fmtShape(s.shape)} must have the same shape`);
  }
  const e = z.engine;
  const n = z.size;
  const zOut = e.empty(z.shape, op);
  const logDet = e.empty(z.shape, `${op}.logDet`);
  const wg = Math.ceil(n / 256);
  if (n > 0) e.dispatch({ kernel: KERNELS.iaf, params: { n }, inputs: { z, m, s }, outputs: { z_out: zOut, log_det: logDet }, workgroups: wg, label: op });
  e.tape.recordMany(op, [zOut, logDet], [z, m, s], ([gz, gl]) => {
    const dz = e.empty(z.shape, `${op}.backward`);
    const dm = e.empty(z.shape, `${op}.backward`);
    const ds = e.empty(z.shape, `${op}.backward`);
    const [g, gLogDet] = [gz ?? e.zeros(z.shape), gl ?? e.zeros(z.shape)];
    if (n > 0) e.dispatch({ kernel: KERNELS.iaf_backward, params: { n }, inputs: { z, m, s, g, g_log_det: gLogDet }, outputs: { dz, dm, ds }, workgroups: wg, label: `${op}.backward` });
    if (!gz) g.dispose();
    if (!gl) gLogDet.dispose();
    return [dz, dm, ds].map((d, i) => {
      if ([z, m, s][i]!.requiresGrad) return d;
      d.dispose('gradient not needed');
      return null;
    });
  });
  return { z: zOut, logDet };
}

/** Channel windows of the two conv outputs an IAF layer's posterior is read from (each `latent` or `context` wide). */
export interface IafPosteriorLayout {
  /** Latent channels Z. */
  latent: number;
  /** Context channels H. */
  context: number;
  /** First channel of the posterior mean, log-std and context windows in the bottom-up tensor. */
  up: { mean: number; logStd: number; context: number };
  /** The same in the top-down tensor, and the prior's mean and log-std windows (fromPrior). */
  down: { mean: number; logStd: number; context: number; priorMean: number; priorLogStd: number };
  /** Sample z0 from the prior instead (the data-dependent init pass); logq0 is still log q(z0). Default false. */
  fromPrior?: boolean;
}

export interface IafPosteriorResult {
  /** z0 = qMean + exp(qLogStd) eps, [..., Z]. */
  z0: Tensor;
  /** log q(z0) elementwise, [..., Z]. */
  logq0: Tensor;
  /** The AR-NN's context up[context] + down[context], [..., H]. */
  context: Tensor;
}

function checkWindows(op: string, name: string, channels: number, windows: [string, number, number][]): void {
  const sorted = [...windows].sort((a, b) => a[1] - b[1]);
  for (const [w, start, width] of sorted) {
    if (!(Number.isInteger(start) && start >= 0 && start + width <= channels)) throw new Error(`${op}: ${name} window '${w}' [${start}, ${start + width}) is outside its ${channels} channels`);
  }
  for (let i = 1; i < sorted.length; i++) {
    const [a, s0, w0] = sorted[i - 1]!;
    const [b, s1] = sorted[i]!;
    if (s0 + w0 > s1) throw new Error(`${op}: ${name} windows '${a}' and '${b}' overlap`);
  }
}

/** Channels-last tensor as [pixels, channels] for a fused IAF kernel; checks the leading dims against `like`. */
function pixelsOf(op: string, t: Tensor, like: Tensor, name: string): number {
  if (t.rank !== like.rank || t.shape.some((d, i) => i < t.rank - 1 && d !== like.shape[i])) throw new Error(`${op}: ${name} ${fmtShape(t.shape)} and ${fmtShape(like.shape)} must differ only in the channel axis`);
  return t.size / t.shape[t.rank - 1]!;
}

/**
 * The posterior sample of an IAF layer, fused: qMean = up[mean] + down[mean], qLogStd likewise,
 * z0 = qMean + exp(qLogStd) eps (or from the prior's windows with layout.fromPrior), logq0 = log N(z0; qMean,
 * exp(qLogStd)^2), context = up[context] + down[context]. up [..., Cu], down [..., Cd], eps [..., Z].
 * Equal to the slices, adds, gaussianSample and gaussianLogDensity it replaces (test/kernels/iaf.test.ts).
 */
export function iafPosterior(up: Tensor, down: Tensor, eps: Tensor, layout: IafPosteriorLayout): IafPosteriorResult {
  const op = 'iafPosterior';
  const e = up.engine;
  const { latent: Z, context: H } = layout;
  if (!(Z >= 1 && H >= 1)) throw new Error(`${op}: latent ${Z} and context ${H} channels must be >= 1`);
  if (eps.shape[eps.rank - 1] !== Z) throw new Error(`${op}: eps ${fmtShape(eps.shape)} must have ${Z} channels`);
  const pixels = pixelsOf(op, up, eps, 'up');
  pixelsOf(op, down, eps, 'down');
  const cu = up.shape[up.rank - 1]!;
  const cd = down.shape[down.rank - 1]!;
  const fromPrior = layout.fromPrior ?? false;
  checkWindows(op, 'up', cu, [['mean', layout.up.mean, Z], ['logStd', layout.up.logStd, Z], ['context', layout.up.context, H]]);
  checkWindows(op, 'down', cd, [['mean', layout.down.mean, Z], ['logStd', layout.down.logStd, Z], ['context', layout.down.context, H], ['priorMean', layout.down.priorMean, Z], ['priorLogStd', layout.down.priorLogStd, Z]]);
  const params = {
    pixels, z: Z, h: H, cu, cd,
    up_mean: layout.up.mean, up_logsd: layout.up.logStd, up_ctx: layout.up.context,
    down_mean: layout.down.mean, down_logsd: layout.down.logStd, down_ctx: layout.down.context,
    prior_mean: layout.down.priorMean, prior_logsd: layout.down.priorLogStd,
  };
  const lead = eps.shape.slice(0, -1);
  const z0 = e.empty(eps.shape, op);
  const logq0 = e.empty(eps.shape, `${op}.logq0`);
  const context = e.empty([...lead, H], `${op}.context`);
  if (pixels > 0) {
    e.dispatch({ kernel: KERNELS.iaf_posterior, overrides: { FROM_PRIOR: fromPrior }, params, inputs: { up, down, eps }, outputs: { z0, logq0, context }, workgroups: Math.ceil((pixels * (Z + H)) / 256), label: op });
  }
  e.tape.recordMany(op, [z0, logq0, context], [up, down, eps], ([gz, gl, gc], sinks) => {
    if (eps.requiresGrad) throw new Error(`${op}: eps must not require a gradient (it is noise)`);
    const grad = (g: Tensor | null, shape: readonly number[]): Tensor => g ?? e.zeros(shape);
    const [gZ0, gLogq0, gContext] = [grad(gz, eps.shape), grad(gl, eps.shape), grad(gc, context.shape)];
    const into = (t: Tensor, sink: GradSink | null): { tensor: Tensor; acc: boolean } =>
      sink?.mode === 'accumulate' && t.requiresGrad ? { tensor: sink.tensor, acc: true } : { tensor: e.empty(t.shape, `${op}.backward`), acc: false };
    const dUp = into(up, sinks[0] ?? null);
    const dDown = into(down, sinks[1] ?? null);
    if (pixels > 0) {
      e.dispatch({
        kernel: KERNELS.iaf_posterior_backward,
        overrides: { FROM_PRIOR: fromPrior, ACC_UP: dUp.acc, ACC_DOWN: dDown.acc },
        params,
        inputs: { up, down, eps, g_z0: gZ0, g_logq0: gLogq0, g_context: gContext },
        outputs: { d_up: dUp.tensor, d_down: dDown.tensor },
        workgroups: Math.ceil((pixels * Math.max(cu, cd)) / 256),
        label: `${op}.backward`,
      });
    }
    if (!gz) gZ0.dispose();
    if (!gl) gLogq0.dispose();
    if (!gc) gContext.dispose();
    return [up.requiresGrad ? dUp.tensor : (dUp.tensor.dispose(), null), down.requiresGrad ? dDown.tensor : (dDown.tensor.dispose(), null), null];
  });
  return { z0, logq0, context };
}

/** Where the prior's parameters sit in the channels of the tensor holding them. */
export interface IafKlLayout {
  mean: number;
  logStd: number;
}

/**
 * The single-sample KL term of an IAF layer, fused: kl = (logq0 + logDet) - log N(z; prior[mean],
 * exp(prior[logStd])^2), elementwise; logq0, logDet, z [..., Z], prior [..., Cp]. Equal to the slices, add,
 * gaussianLogDensity and sub it replaces (test/kernels/iaf.test.ts).
 */
export function iafKl(logq0: Tensor, logDet: Tensor, z: Tensor, prior: Tensor, layout: IafKlLayout): Tensor {
  const op = 'iafKl';
  const e = z.engine;
  for (const t of [logq0, logDet]) {
    if (t.rank !== z.rank || t.shape.some((d, i) => d !== z.shape[i])) throw new Error(`${op}: logq0 ${fmtShape(logq0.shape)}, logDet ${fmtShape(logDet.shape)} and z ${fmtShape(z.shape)} must have the same shape`);
  }
  const Z = z.shape[z.rank - 1]!;
  const pixels = pixelsOf(op, prior, z, 'prior');
  const cp = prior.shape[prior.rank - 1]!;
  checkWindows(op, 'prior', cp, [['mean', layout.mean, Z], ['logStd', layout.logStd, Z]]);
  const params = { pixels, z: Z, cp, prior_mean: layout.mean, prior_logsd: layout.logStd };
  const kl = e.empty(z.shape, op);
  if (kl.size > 0) e.dispatch({ kernel: KERNELS.iaf_kl, params, inputs: { logq0, log_det: logDet, z, prior }, outputs: { kl }, workgroups: Math.ceil(kl.size / 256), label: op });
  return e.tape.record(op, kl, [logq0, logDet, z, prior], (g, sinks) => {
    const zSink = z.requiresGrad && sinks[2]?.mode === 'accumulate' ? sinks[2].tensor : null;
    const pSink = prior.requiresGrad && sinks[3]?.mode === 'accumulate' ? sinks[3].tensor : null;
    const dz = zSink ?? e.empty(z.shape, `${op}.backward`);
    const dPrior = pSink ?? e.empty(prior.shape, `${op}.backward`);
    if (kl.size > 0) {
      e.dispatch({
        kernel: KERNELS.iaf_kl_backward,
        overrides: { ACC_Z: zSink !== null, ACC_PRIOR: pSink !== null },
        params,
        inputs: { z, prior, g },
        outputs: { dz, d_prior: dPrior },
        workgroups: Math.ceil((pixels * Math.max(cp, Z)) / 256),
        label: `${op}.backward`,
      });
    }
    // d(logq0) = d(logDet) = g: views.
    return [
      logq0.requiresGrad ? e.view(g, logq0.shape, `${op}.backward`) : null,
      logDet.requiresGrad ? e.view(g, logDet.shape, `${op}.backward`) : null,
      z.requiresGrad ? dz : (dz.dispose(), null),
      prior.requiresGrad ? dPrior : (dPrior.dispose(), null),
    ];
  });
}

/**
 * Channel mask M [nIn, nOut] (row-major, M[i * nOut + j]: input channel i -> output channel j) of the centre
 * tap of an autoregressive conv (docs/MODEL.md §3.5):
 * - nOut >= nIn, k = nOut / nIn: output j (block floor(j / k)) sees inputs i <= floor(j / k), or
 *   i < floor(j / k) when zeroDiagonal;
 * - nOut < nIn, k = nIn / nOut: output j sees inputs i < (j + 1) k, or i < j k when zeroDiagonal.
 * Requires the larger of nIn, nOut to be a multiple of the smaller.
 */
export function arChannelMask(nIn: number, nOut: number, zeroDiagonal: boolean): Float32Array {
  if (!Number.isInteger(nIn) || !Number.isInteger(nOut) || nIn < 1 || nOut < 1) throw new Error(`arChannelMask: channel counts must be positive integers, got ${nIn}, ${nOut}`);
  const M = new Float32Array(nIn * nOut);
  if (nOut >= nIn) {
    if (nOut % nIn !== 0) throw new Error(`arChannelMask: nOut ${nOut} must be a multiple of nIn ${nIn}`);
    const k = nOut / nIn;
    for (let i = 0; i < nIn; i++)
      for (let j = 0; j < nOut; j++) {
        const block = Math.floor(j / k);
        if (zeroDiagonal ? i < block : i <= block) M[i * nOut + j] = 1;
      }
  } else {
    if (nIn % nOut !== 0) throw new Error(`arChannelMask: nIn ${nIn} must be a multiple of nOut ${nOut}`);
    const k = nIn / nOut;
    for (let i = 0; i < nIn; i++)
      for (let j = 0; j < nOut; j++) {
        if (zeroDiagonal ? i < j * k : i < (j + 1) * k) M[i * nOut + j] = 1;
      }
  }
  return M;
}
