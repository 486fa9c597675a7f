// Optimizer and gated-resnet benchmarks: one Adamax step and one EMA update over a large parameter arena
// (one dispatch per <= maxStorageBufferBindingSize chunk), and concatElu / gate forward and backward at the
// PixelCNN++ activation size B16 x 32x32 x 160 (NHWC). GB/s counts the bytes each kernel must move.
import { KERNELS, ParameterSet, type Engine, type ParamSpec, type Tensor } from '../engine/index.js';
import { concatElu, gate } from '../engine/generative/index.js';
import { printTable, row, timeIt, type BenchRow } from './harness.js';

/** Parameters in the optimizer benchmark (60M: the arenas p, g, v, u, ema take 1.2 GB). */
export const OPTIM_BENCH_PARAMS = 60_000_000;

/** A parameter set of `totalParams` scalars in ~1M-scalar tensors, like the model's conv weights (no single parameter exceeds one binding). */
export function benchArena(engine: Engine, totalParams: number): ParameterSet {
  const per = 1 << 20;
  const specs: ParamSpec[] = [];
  for (let left = totalParams, i = 0; left > 0; left -= per, i++) specs.push({ name: `w${i}`, shape: [Math.min(per, left)], init: { normal: 0.05 } });
  return ParameterSet.create(engine, specs, 1);
}

export async function benchOptim(engine: Engine, totalParams = OPTIM_BENCH_PARAMS): Promise<void> {
  const rows: BenchRow[] = [];
  const set = benchArena(engine, totalParams);
  const n = set.arenaSize;
  const mParams = `${(set.count / 1e6).toFixed(1)}M params, ${set.chunkCount} chunks`;
  // Non-zero gradients: a sinusoid written once (the values do not change the memory traffic).
  const chunk = 1 << 22;
  const buf = new Float32Array(chunk);
  for (let i = 0; i < chunk; i++) buf[i] = Math.sin(i) * 1e-3;
  for (const name of set.names) {
    const g = set.get(name).grad!;
    engine.write(g, buf.subarray(0, g.size));
  }
  set.initEma();
  let ms = await timeIt(engine, () => set.adamaxStep(), { reps: 5 });
  rows.push(row(`adamax step (${mParams})`, ms, 6 * n, 28 * n, 'reads p,g,v,u; writes p,v,u'));
  ms = await timeIt(engine, () => set.emaUpdate(0.9995), { reps: 5 });
  rows.push(row(`ema update (${mParams})`, ms, 3 * n, 12 * n, 'reads p,ema; writes ema'));
  const t0 = performance.now();
  const stats = await set.gradientStats();
  rows.push(row(`gradientStats (${mParams})`, performance.now() - t0, 2 * n, 4 * n, `includes readback; norm ${stats.norm.toFixed(3)}`));
  ms = await timeIt(engine, () => set.zeroGrad(), { reps: 5 });
  rows.push(row(`zeroGrad (${mParams})`, ms, undefined, 4 * n, 'clearBuffer'));
  set.dispose();
  printTable('optimizer (Adamax TF form, Polyak EMA) over parameter arenas', rows);
  await benchGated(engine);
}

export async function benchGated(engine: Engine, shape: number[] = [16, 32, 32, 160]): Promise<void> {
  const rows: BenchRow[] = [];
  const x = engine.uniform(shape, -2, 2);
  const n = x.size;
  const c = shape[shape.length - 1]!;
  const wide = [...shape.slice(0, -1), 2 * c];
  const g2 = engine.uniform(wide, -1, 1);
  const g1 = engine.uniform(shape, -1, 1);
  const dx = engine.empty(shape, 'bench');
  const d2 = engine.empty(wide, 'bench');
  const tag = `[${shape.join(',')}]`;
  let y: Tensor | null = null;
  const fresh = (t: Tensor): void => {
    y?.dispose();
    y = t;
  };
  let ms = await timeIt(engine, () => fresh(concatElu(x)));
  rows.push(row(`concatElu fwd ${tag}`, ms, 3 * n, 12 * n));
  const noise = { p: 0.5, seed: 7, stream: 1 };
  ms = await timeIt(engine, () => fresh(concatElu(x, { dropout: noise })));
  rows.push(row(`concatElu+dropout fwd ${tag}`, ms, undefined, 12 * n, '2 Philox draws per input element'));
  // The backward as the engine dispatches it without PAIR: x2 and dx2 are bound but not read or written.
  const ceParams = { n, c, c1: c, stream: 0, stream_hi: 0, key0: 0, key1: 0, p: 0, scale: 1, offset: 0 };
  const unusedDx2 = engine.empty([1], 'bench');
  ms = await timeIt(engine, () =>
    engine.dispatch({ kernel: KERNELS.concat_elu_backward, overrides: { DROPOUT: false }, params: ceParams, inputs: { x, g: g2, x2: x }, outputs: { dx, dx2: unusedDx2 }, workgroups: Math.ceil(n / 256) }),
  );
  rows.push(row(`concatElu bwd ${tag}`, ms, 4 * n, 16 * n));
  ms = await timeIt(engine, () =>
    engine.dispatch({ kernel: KERNELS.concat_elu_backward, overrides: { DROPOUT: true }, params: { ...ceParams, key0: 7, stream: 1, p: 0.5, scale: 2 }, inputs: { x, g: g2, x2: x }, outputs: { dx, dx2: unusedDx2 }, workgroups: Math.ceil(n / 256) }),
  );
  rows.push(row(`concatElu+dropout bwd ${tag}`, ms, undefined, 16 * n));
  // gate: c2 [..., 2F] with F = c, residual [..., F]
  const c2 = engine.uniform(wide, -2, 2);
  ms = await timeIt(engine, () => fresh(gate(c2, x)));
  rows.push(row(`gate fwd c2 [${wide.join(',')}]`, ms, 4 * n, 16 * n));
  ms = await timeIt(engine, () =>
    engine.dispatch({ kernel: KERNELS.gate_backward, params: { n, f: c }, inputs: { c2, g: g1 }, outputs: { dc2: d2, dresidual: dx }, workgroups: Math.ceil(n / 256) }),
  );
  rows.push(row(`gate bwd c2 [${wide.join(',')}]`, ms, 8 * n, 24 * n));
  (y as Tensor | null)?.dispose();
  for (const t of [x, g1, g2, dx, d2, c2]) t.dispose();
  printTable('gated resnet pieces (NHWC)', rows);
}
