// Training-step benchmark: the loop's step (forward + backward + Adamax + EMA + the NaN/Inf check, pipelined as
// train/step/loop.ts runs it; bench/stepper.ts) for model configs: ms and images per second, dispatches and submits
// per step, peak GPU memory; with --profile GPU time per kernel family and per kernel (timestamp queries).
// `--compare REV` runs an older commit's step beside this tree's in one process (bench/compare.ts).
import type { KernelTiming } from '../engine/index.js';
import type { ConfigName } from '../model/config.js';
import { printTable, type BenchRow } from './harness.js';
import { createStepper, type Stepper } from './stepper.js';

/** A config to bench and, optionally, its own batch (`--configs small:8,paper:1`; else --batch, else the recipe's). */
export interface StepConfig {
  config: ConfigName;
  batch?: number;
}

export interface StepBenchOptions {
  batch?: number;
  /** Steps timed per config (after one warm-up step). */
  steps?: number;
  profile?: boolean;
  /** false: the old loop's sequential step. */
  pipeline?: boolean;
  /** Create the step's pipelines ahead, asynchronously (Engine.preparePipelines). */
  prepare?: boolean;
  /** Print the dispatches of a step by op label (where a step's dispatches come from). */
  census?: boolean;
  /** Kernel choices: 'off' (static; the default here), 'cached' or 'on' (bench/stepper.ts), with this tuning cache folder. */
  tune?: 'off' | 'cached' | 'on';
  tuneCache?: string;
}

const MiB = (b: number): string => `${(b / 2 ** 20).toFixed(0)} MiB`;

/** Progress on stderr (a section stopped by a time limit on a lent GPU shows where it was). */
export function progress(line: string): void {
  process.stderr.write(`[bench step ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

/** The family of a kernel (timing names are 'kernel:label'). */
export function kernelFamily(kernel: string): string {
  const k = kernel.split(':')[0]!;
  if (k.startsWith('conv2d')) return `conv (${kernel.includes('wgrad') ? 'wgrad' : kernel.includes('dgrad') ? 'dgrad' : 'fwd'})`;
  if (k.startsWith('matmul')) return 'matmul';
  if (k.startsWith('reduce')) return 'reduce';
  if (k === 'strided_copy') return 'copy (pad/slice/concat)';
  if (['binary', 'binary_backward', 'unary', 'unary_backward', 'accumulate', 'fill'].includes(k)) return 'elementwise';
  if (['concat_elu', 'concat_elu_backward', 'gate', 'gate_backward', 'dropout'].includes(k)) return 'activations (elu, gate, dropout)';
  if (['optimizer', 'clip_scale', 'ema', 'nonfinite_check', 'grad_stats', 'ddi_update'].includes(k)) return 'optimizer (adamax, ema, checks)';
  if (k === 'philox') return 'rng';
  return 'likelihoods, KL, IAF';
}

export function profileTables(name: string, steps: number, t: KernelTiming[]): void {
  const total = t.reduce((a, r) => a + r.totalMs, 0);
  const group = (key: (k: string) => string): [string, { ms: number; calls: number }][] => {
    const m = new Map<string, { ms: number; calls: number }>();
    for (const r of t) {
      const k = key(r.kernel);
      const a = m.get(k) ?? { ms: 0, calls: 0 };
      a.ms += r.totalMs;
      a.calls += r.calls;
      m.set(k, a);
    }
    return [...m].sort((a, b) => b[1].ms - a[1].ms);
  };
  const rows = (g: [string, { ms: number; calls: number }][]): BenchRow[] =>
    g.map(([k, v]) => ({ name: k, ms: v.ms / steps, note: `${(v.calls / steps).toFixed(0)} calls/step, ${((100 * v.ms) / total).toFixed(1)}%` }));
  printTable(`GPU time per kernel family, ${name}, per step (${steps} steps, total ${(total / steps).toFixed(0)} ms/step of GPU time)`, rows(group(kernelFamily)));
  printTable(`GPU time per kernel, ${name}, per step (top 25)`, rows(group((k) => k.split(':').slice(0, 2).join(':')).slice(0, 25)));
}

export function stepRow(s: Stepper, ms: number, dispatches: number, submits: number): BenchRow {
  const { info } = s;
  const mem = s.memory();
  return {
    name: `${info.config} batch ${info.batch} (${info.params.toLocaleString('en-US')} params)`,
    ms,
    note: `${(info.batch / (ms / 1000)).toFixed(2)} img/s, ${dispatches.toFixed(0)} dispatches/step, ${submits.toFixed(1)} submits/step, ` +
      `peak ${MiB(mem.peakBytes)} live tensors (pool ${MiB(mem.poolBytes)}), init ${(info.initMs / 1000).toFixed(1)} s, ${info.mode}`,
  };
}

export async function benchStep(configs: StepConfig[], opts: StepBenchOptions = {}): Promise<void> {
  const rows: BenchRow[] = [];
  const startup: BenchRow[] = [];
  const steps = opts.steps ?? 3;
  for (const { config: name, batch: own } of configs) {
    const batch = own ?? opts.batch;
    const t0 = performance.now();
    const s = await createStepper({ config: name, ...(batch ? { batch } : {}), profile: opts.profile ?? false, pipeline: opts.pipeline ?? true, prepare: opts.prepare ?? false, census: opts.census ?? false, tune: opts.tune ?? 'off', ...(opts.tuneCache ? { tuneCache: opts.tuneCache } : {}) });
    try {
      progress(`${name} batch ${s.info.batch}: init ${(s.info.initMs / 1000).toFixed(1)} s; warm-up step`);
      const first = await s.run(1); // warm-up: pipelines, pool
      const p = s.info.prepare;
      startup.push({ name: `${name} batch ${s.info.batch}`, ms: performance.now() - t0,
        note: `${p ? `async pipelines ahead ${(p.ms / 1000).toFixed(2)} s (${p.created} pipelines), ` : 'pipelines created on first use, '}` +
          `init ${(s.info.initMs / 1000).toFixed(2)} s, first step ${(first.msPerStep / 1000).toFixed(2)} s` });
      progress(`${name} batch ${s.info.batch}: timing ${steps} steps`);
      if (opts.profile) await s.timings();
      s.census?.();
      // One run of `steps` steps (pipelined: the last one drained); its mean per step.
      const r = await s.run(steps);
      rows.push(stepRow(s, r.msPerStep, r.dispatchesPerStep, r.submitsPerStep));
      if (opts.profile) profileTables(`${name} batch ${s.info.batch}`, steps, await s.timings());
      if (opts.census) {
        const census = s.census?.() ?? [];
        const w = Math.max(5, ...census.map(([l]) => l.length));
        console.log(`\n## dispatches per step by op label, ${name} batch ${s.info.batch}\n| ${'label'.padEnd(w)} | per step\n|${'-'.repeat(w + 2)}|---------`);
        for (const [label, n] of census) console.log(`| ${label.padEnd(w)} | ${(n / steps).toFixed(1).padStart(8)}`);
      }
    } finally {
      s.dispose();
    }
  }
  printTable(`start-up: engine, model and parameters, init, first step done (${opts.prepare ? '--prepare: pipelines created ahead, asynchronously' : 'without --prepare'})`, startup);
  printTable(`training step (forward + backward + Adamax + EMA + NaN/Inf check${opts.profile ? '; --profile: one compute pass per dispatch, slower' : ''})`, rows);
}
