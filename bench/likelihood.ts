// DMOL benchmarks (engine/ops/dmol.ts) at the PixelCNN++ training shape: B16 x 32x32, M = 10 (100 channels).
// GB/s counts only the bytes each case must move: the fused loss+gradient pass reads params and x and writes
// the per-pixel gradient and log p; the backward pass scales that gradient in place (read + write). A plain
// elementwise pass over params is timed alongside as the adapter's bandwidth reference.
import { ops, type Engine, type Tensor } from '../engine/index.js';
import { dmolLogLikelihood, dmolSample } from '../engine/generative/index.js';
import { printTable, row, timeIt, type BenchRow } from './harness.js';

export async function benchDmol(engine: Engine): Promise<void> {
  const [B, H, W, M] = [16, 32, 32, 10];
  const K = 10 * M;
  const pixels = B * H * W;
  const paramBytes = pixels * K * 4;
  const xBytes = pixels * 3 * 4;
  const outBytes = pixels * 4 + B * 4 * 2; // per-pixel log p written, then read by the per-image sum
  const rows: BenchRow[] = [];

  const P = engine.uniform([B, H, W, K], -1, 1).keep();
  const X = engine.uniform([B, H, W, 3], -1, 1).keep();
  const ones = engine.ones([B]).keep();

  // forward only (params without requiresGrad: the GRAD override is off, no gradient buffer)
  let ms = await timeIt(engine, () => engine.scope(() => void dmolLogLikelihood(P, X, M)), { reps: 5 });
  rows.push(row(`loss fwd only [${B},${H},${W},${K}]`, ms, undefined, paramBytes + xBytes + outBytes));

  // fused forward + per-pixel gradient (what a training step's forward costs); the node is dropped unused
  P.requiresGrad = true;
  ms = await timeIt(
    engine,
    () =>
      engine.scope(() => {
        dmolLogLikelihood(P, X, M);
        engine.tape.clear();
      }),
    { reps: 5 },
  );
  rows.push(row(`loss fwd+grad fused`, ms, undefined, paramBytes + xBytes + outBytes + paramBytes, 'params + x read, grad written'));

  // forward + backward through the tape (fused pass, sum, scale pass; P.grad assigned then freed)
  ms = await timeIt(
    engine,
    () =>
      engine.scope(() => {
        const ll = dmolLogLikelihood(P, X, M);
        engine.backward(ll, ones);
        P.grad?.dispose();
        P.grad = null;
      }),
    { reps: 5 },
  );
  rows.push(row(`loss fwd+bwd (tape)`, ms, undefined, paramBytes + xBytes + outBytes + 3 * paramBytes, '+ in-place scale pass (grad read + written)'));
  P.requiresGrad = false;

  // bandwidth reference on this adapter: one plain elementwise pass over the same params (1 read + 1 write)
  ms = await timeIt(engine, () => engine.scope(() => void ops.mulScalar(P, 2)), { reps: 5 });
  rows.push(row(`reference: mulScalar on params`, ms, undefined, 2 * paramBytes, 'plain elementwise, for scale'));

  // sampler: all pixels, and one raster position (one step of the 1024-step autoregressive loop)
  let y: Tensor | null = null;
  ms = await timeIt(engine, () => {
    y?.dispose();
    y = dmolSample(P, M, { seed: 1, stream: 0 });
  }, { reps: 5 });
  (y as Tensor | null)?.dispose();
  rows.push(row(`sample all pixels`, ms, undefined, paramBytes + xBytes));
  const canvas = engine.zeros([B, H, W, 3]).keep();
  let step = 0;
  ms = await timeIt(engine, () => {
    const p = step++ % (H * W);
    dmolSample(P, M, { seed: 1, stream: 0, position: { row: Math.floor(p / W), col: p % W }, canvas });
  }, { reps: 5, inner: 32 });
  rows.push(row(`sample one position (B=${B})`, ms, undefined, B * (K + 3) * 4, 'per call, 32 calls per submit'));

  for (const t of [P, X, ones, canvas]) t.dispose();
  printTable(`DMOL log-likelihood + gradient and sampler, B${B} x ${H}x${W}, M=${M}`, rows);
}
