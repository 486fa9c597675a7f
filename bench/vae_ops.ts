// VAE-side loss ops: the K-level discretized logistic log-likelihood (forward, and forward + backward) at the
// AGAVE auxiliary-image size B16 x 32x32x3, and the free-bits KL objective (forward + backward) of one IAF
// stochastic layer at B16 x 16x16x32 (Z = 32). GB/s counts the bytes the kernels must at least move:
// logistic forward reads mean and y; its backward reads them again and writes d(mean); freeBitsKL reads kl
// for the objective and for the true KL and writes d(kl); the fused IAF posterior and KL term of one paper-config
// layer (iafPosterior, iafKl).
// Not wired into bench/run.ts (owned by the lead): call benchVaeOps(engine) from there as `vae`.
import { ops, type Engine, type Tensor } from '../engine/index.js';
import * as gen from '../engine/generative/index.js';
import { discretizedLogisticLogLikelihood } from '../engine/generative/index.js';
import { freeBitsKL } from '../engine/generative/index.js';
import { printTable, row, timeIt, type BenchRow } from './harness.js';

export async function benchVaeOps(engine: Engine): Promise<void> {
  const rows: BenchRow[] = [];
  {
    const shape = [16, 32, 32, 3];
    const n = 16 * 32 * 32 * 3;
    const mean = engine.uniform(shape, -0.5, 0.5);
    mean.requiresGrad = true;
    const logScale = engine.full([3], -3);
    logScale.requiresGrad = true;
    const y = engine.noGrad(() => ops.mulScalar(engine.uniform(shape, 0, 255.99), 1));
    const seed = engine.ones([16]);
    for (const [K, tails] of [[256, false], [32, false], [256, true]] as const) {
      const tag = `K=${K}${tails ? ' tails' : ''}`;
      let ms = await timeIt(engine, () => {
        engine.noGrad(() => discretizedLogisticLogLikelihood(mean, logScale, y, K, { tails })).dispose();
      }, { inner: 10 });
      rows.push(row(`logistic LL fwd B16x32x32x3 ${tag}`, ms, undefined, 2 * n * 4));
      ms = await timeIt(engine, () => {
        const ll = discretizedLogisticLogLikelihood(mean, logScale, y, K, { tails });
        engine.backward(ll, seed);
        ll.dispose();
        (mean.grad as Tensor | null)?.dispose();
        (logScale.grad as Tensor | null)?.dispose();
        mean.grad = null;
        logScale.grad = null;
      }, { inner: 10 });
      rows.push(row(`logistic LL fwd+bwd B16x32x32x3 ${tag}`, ms, undefined, 5 * n * 4));
    }
    for (const t of [mean, logScale, y, seed]) t.dispose();
  }
  {
    const shape = [16, 16, 16, 32];
    const n = 16 * 16 * 16 * 32;
    const kl = engine.uniform(shape, 0, 0.01);
    kl.requiresGrad = true;
    let ms = await timeIt(engine, () => {
      engine.noGrad(() => {
        const r = freeBitsKL(kl, 0.1);
        r.objective.dispose();
        r.trueKL.dispose();
      });
    }, { inner: 10 });
    rows.push(row('freeBitsKL fwd B16x16x16x32', ms, undefined, 2 * n * 4));
    ms = await timeIt(engine, () => {
      const r = freeBitsKL(kl, 0.1);
      engine.backward(r.objective);
      r.objective.dispose();
      r.trueKL.dispose();
      (kl.grad as Tensor | null)?.dispose();
      kl.grad = null;
    }, { inner: 10 });
    rows.push(row('freeBitsKL fwd+bwd B16x16x16x32', ms, undefined, 3 * n * 4));
    kl.dispose();
  }
  {
    // One IAF layer of the paper config at B16 x 16x16: up_a's output [.., 2Z + 2H], down_a's [.., 4Z + 2H].
    const [Z, H] = [32, 160];
    const lead = [16, 16, 16];
    const P = 16 * 16 * 16;
    const up = engine.uniform([...lead, 2 * Z + 2 * H], -1, 1);
    const down = engine.uniform([...lead, 4 * Z + 2 * H], -1, 1);
    for (const t of [up, down]) t.requiresGrad = true;
    const eps = engine.normal([...lead, Z], 0, 1);
    const layout = { latent: Z, context: H, up: { mean: 0, logStd: Z, context: 2 * Z }, down: { mean: 2 * Z, logStd: 3 * Z, context: 4 * Z, priorMean: 0, priorLogStd: Z } };
    const release = (...ts: Tensor[]): void => ts.forEach((t) => t.dispose());
    let ms = await timeIt(engine, () => {
      engine.noGrad(() => {
        const r = gen.iafPosterior(up, down, eps, layout);
        const kl = gen.iafKl(r.logq0, r.logq0, r.z0, down, { mean: 0, logStd: Z });
        release(r.z0, r.logq0, r.context, kl);
      });
    }, { inner: 10 });
    // posterior: reads 4Z + H of up/down and Z of eps per pixel, writes 2Z + H; kl: reads 3Z + 2Z, writes Z
    rows.push(row(`iafPosterior + iafKl fwd B16x16x16 Z=${Z} H=${H}`, ms, undefined, P * (5 * Z + 2 * H + 2 * Z + H + 6 * Z) * 4));
    ms = await timeIt(engine, () => {
      const r = gen.iafPosterior(up, down, eps, layout);
      const kl = gen.iafKl(r.logq0, r.logq0, r.z0, down, { mean: 0, logStd: Z });
      engine.backward(ops.sum(ops.add(ops.sum(kl), ops.add(ops.sum(r.z0), ops.sum(r.context)))));
      release(r.z0, r.logq0, r.context, kl);
      for (const t of [up, down]) {
        t.grad?.dispose();
        t.grad = null;
      }
    }, { inner: 5 });
    rows.push(row(`iafPosterior + iafKl fwd+bwd (and sums) B16x16x16 Z=${Z} H=${H}`, ms));
    release(up, down, eps);
  }
  printTable('VAE ops (discretized logistic, free bits, the fused IAF posterior and KL)', rows);
}
