// Benchmark plumbing: warm-up, then timed repetitions synchronised with the device (submit + wait), median.
// Rows print as a table: ms, GFLOP/s and GB/s (bytes the kernel must at least move).
import type { Engine } from '../engine/index.js';

export interface BenchRow {
  name: string;
  ms: number;
  gflops?: number;
  gbps?: number;
  note?: string;
}

export interface TimeOptions {
  /** Repetitions timed (median is reported). */
  reps?: number;
  /** Stop repeating after this much time (ms) once 3 reps are done. */
  budgetMs?: number;
  /** Calls of `fn` per timed repetition (amortises submit latency for small kernels). */
  inner?: number;
}

/** Median wall time (ms) of one call of fn, each repetition ending with engine.sync(). */
export async function timeIt(engine: Engine, fn: () => void, opts: TimeOptions = {}): Promise<number> {
  const reps = opts.reps ?? 7;
  const inner = opts.inner ?? 1;
  const budget = opts.budgetMs ?? 20_000;
  for (let i = 0; i < inner; i++) fn(); // warm-up: pipeline compile, pool fill
  await engine.sync();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < reps) {
    const t0 = performance.now();
    for (let i = 0; i < inner; i++) fn();
    await engine.sync();
    times.push((performance.now() - t0) / inner);
    if (times.length >= 3 && performance.now() - start > budget) break;
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

export function row(name: string, ms: number, flop?: number, bytes?: number, note?: string): BenchRow {
  const r: BenchRow = { name, ms };
  if (flop !== undefined) r.gflops = flop / (ms * 1e6);
  if (bytes !== undefined) r.gbps = bytes / (ms * 1e6);
  if (note !== undefined) r.note = note;
  return r;
}

export function printTable(title: string, rows: BenchRow[]): void {
  const fmt = (x: number | undefined, d: number): string => (x === undefined ? '-' : x.toFixed(d));
  const w = Math.max(4, ...rows.map((r) => r.name.length));
  console.log(`\n## ${title}`);
  console.log(`| ${'case'.padEnd(w)} | ${'ms'.padStart(9)} | ${'GFLOP/s'.padStart(8)} | ${'GB/s'.padStart(7)} | note`);
  console.log(`|${'-'.repeat(w + 2)}|${'-'.repeat(11)}|${'-'.repeat(10)}|${'-'.repeat(9)}|------`);
  for (const r of rows) {
    console.log(`| ${r.name.padEnd(w)} | ${fmt(r.ms, 3).padStart(9)} | ${fmt(r.gflops, 2).padStart(8)} | ${fmt(r.gbps, 2).padStart(7)} | ${r.note ?? ''}`);
  }
}
