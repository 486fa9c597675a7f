// Engine-core benchmarks: matmul (naive vs tiled variants), an elementwise op, a reduction, and the CPU cost
// per dispatch of a recorded step.
import { MATMUL_VARIANTS, ops, type Engine, type Tensor } from '../engine/index.js';
import { printTable, row, timeIt, type BenchRow } from './harness.js';

export async function benchMatmul(engine: Engine, sizes: number[]): Promise<void> {
  const rows: BenchRow[] = [];
  for (const n of sizes) {
    const a = engine.uniform([n, n], -1, 1);
    const b = engine.uniform([n, n], -1, 1);
    const flop = 2 * n * n * n;
    for (const v of MATMUL_VARIANTS) {
      for (const [transA, transB] of [[false, false], [false, true], [true, false]] as const) {
        if (!v.supports(n, n, n, transA, transB)) continue;
        if (v.name === 'naive' && (transA || transB)) continue;
        if (transA || transB) {
          if (n !== 1024) continue;
        }
        let c: Tensor | null = null;
        const ms = await timeIt(engine, () => {
          c?.dispose();
          c = ops.matmul(a, b, { transA, transB, variant: v.name });
        }, { reps: n >= 2048 ? 3 : 5, budgetMs: 30_000 });
        (c as Tensor | null)?.dispose();
        const tag = transA ? ' A^T' : transB ? ' B^T' : '';
        rows.push(row(`matmul ${n}^3 ${v.name}${tag}`, ms, flop, 3 * n * n * 4));
      }
    }
    a.dispose();
    b.dispose();
  }
  printTable('matmul (float32, square)', rows);
}

export async function benchElementwise(engine: Engine): Promise<void> {
  const rows: BenchRow[] = [];
  for (const n of [1 << 20, 1 << 22]) {
    const a = engine.uniform([n], -1, 1);
    const b = engine.uniform([n], -1, 1);
    let y: Tensor | null = null;
    let ms = await timeIt(engine, () => {
      y?.dispose();
      y = ops.add(a, b);
    });
    rows.push(row(`add ${n}`, ms, n, 3 * n * 4));
    ms = await timeIt(engine, () => {
      y?.dispose();
      y = ops.sigmoid(a);
    });
    rows.push(row(`sigmoid ${n}`, ms, n, 2 * n * 4));
    const bias = engine.uniform([1024], -1, 1);
    const m = engine.uniform([n / 1024, 1024], -1, 1);
    ms = await timeIt(engine, () => {
      y?.dispose();
      y = ops.add(m, bias);
    });
    rows.push(row(`add broadcast [${n / 1024},1024]+[1024]`, ms, n, 2 * n * 4));
    (y as Tensor | null)?.dispose();
    for (const t of [a, b, bias, m]) t.dispose();
  }
  printTable('elementwise', rows);
}

export async function benchReduce(engine: Engine): Promise<void> {
  const rows: BenchRow[] = [];
  const cases: [number[], number[]][] = [
    [[1 << 22], [0]],
    [[4096, 1024], [1]],
    [[4096, 1024], [0]],
    [[16, 32, 32, 160], [0, 1, 2]],
  ];
  for (const [shape, axes] of cases) {
    const x = engine.uniform(shape, -1, 1);
    let y: Tensor | null = null;
    const ms = await timeIt(engine, () => {
      y?.dispose();
      y = ops.sum(x, axes);
    });
    (y as Tensor | null)?.dispose();
    rows.push(row(`sum [${shape}] axes [${axes}]`, ms, x.size, x.size * 4));
    x.dispose();
  }
  printTable('reduction', rows);
}

/** CPU time to record a step of 1,000 small dispatches (no GPU wait inside the timed region). */
export async function benchDispatch(engine: Engine): Promise<void> {
  const rows: BenchRow[] = [];
  const x = engine.uniform([256], -1, 1);
  const count = 1000;
  // 1) pure runner cost: same output buffer each time (bind group cached), recorded, one submit.
  const out = engine.zeros([256]);
  const { KERNELS } = await import('../engine/index.js');
  const record = (): void => {
    for (let i = 0; i < count; i++) {
      engine.dispatch({ kernel: KERNELS.unary, overrides: { OP: 23 }, params: { n: 256, s: 1.0001 }, inputs: { x }, outputs: { y: out }, workgroups: 1 });
    }
  };
  const reps = 21;
  const cpu: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    record();
    engine.flush();
    cpu.push(performance.now() - t0);
    await engine.sync();
  }
  cpu.sort((a, b) => a - b);
  const med = cpu[reps >> 1]!;
  rows.push({ name: `${count} recorded dispatches (runner, cached bind groups)`, ms: med, note: `${((med * 1000) / count).toFixed(2)} us CPU per dispatch` });
  // 2) full op path: each op allocates its output from the pool and disposes the previous one.
  const cpu2: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    engine.scope(() => {
      let y = x;
      for (let i = 0; i < count; i++) y = ops.mulScalar(y, 1.0001);
      return undefined;
    });
    engine.flush();
    cpu2.push(performance.now() - t0);
    await engine.sync();
  }
  cpu2.sort((a, b) => a - b);
  const med2 = cpu2[reps >> 1]!;
  rows.push({ name: `${count} chained ops (allocation + dispatch + scope)`, ms: med2, note: `${((med2 * 1000) / count).toFixed(2)} us CPU per dispatch` });
  x.dispose();
  out.dispose();
  printTable('CPU cost per dispatch (recorded step)', rows);
}

/**
 * The matmuls of the PixelCNN++'s nin layers (a 1x1 conv on [B*H*W, 2F] -> F), as the training step runs them:
 * forward, input gradient and weight gradient (+ bias gradient), for the small config at batch 8 and the
 * paper config at batch 1 and 16. Thin shapes: the weight gradient has a long K and a tiny output.
 */
export async function benchNin(engine: Engine): Promise<void> {
  const rows: BenchRow[] = [];
  const cases: [string, number, number, number][] = [
    ['small b8 32x32', 8 * 32 * 32, 32, 16],
    ['small b8 8x8', 8 * 8 * 8, 32, 16],
    ['paper b1 32x32', 32 * 32, 320, 160],
    ['paper b16 32x32', 16 * 32 * 32, 320, 160],
  ];
  for (const [name, M, K, N] of cases) {
    const x = engine.uniform([M, K], -1, 1);
    const w = engine.uniform([K, N], -1, 1);
    const b = engine.uniform([N], -1, 1);
    for (const t of [x, w, b]) t.requiresGrad = true;
    const g = engine.uniform([M, N], -1, 1);
    const flop = 2 * M * N * K;
    let y: Tensor | null = null;
    const fwd = await timeIt(engine, () => {
      y?.dispose();
      y = engine.noGrad(() => ops.nin(x, w, b));
    }, { budgetMs: 5_000, inner: M >= 8192 ? 4 : 10 });
    rows.push(row(`nin ${name} [${M},${K}]x[${K},${N}] forward`, fwd, flop, (M * K + K * N + M * N) * 4));
    const both = await timeIt(engine, () => {
      const out = ops.nin(x, w, b);
      engine.backward(out, g);
      out.dispose();
      for (const t of [x, w, b]) {
        t.grad?.dispose();
        t.grad = null;
      }
    }, { budgetMs: 5_000, inner: M >= 8192 ? 4 : 10 });
    rows.push(row(`nin ${name} forward+backward`, both, 3 * flop, 3 * (M * K + K * N + M * N) * 4));
    (y as Tensor | null)?.dispose();
    for (const t of [x, w, b, g]) t.dispose();
  }
  printTable('nin matmuls of the training step (fused bias, forward and backward)', rows);
}
