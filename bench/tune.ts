// `npm run bench -- tune`: what tuning gives on this device. Per config (small:8 and paper:1 by default) it tunes
// one training step's problem buckets from scratch (no cache) and prints, per op and bucket, every candidate's
// time (its fastest sample), the static choice and the winner; then it runs the tuned step and the static one (`--tune off`) in this
// process, alternated (A B A B ..., so load noise on a shared machine hits both alike), and prints both medians,
// their ratio and the spread of the per-round ratios (the run-to-run noise the ratio is to be read against).
import type { BucketResult } from '../engine/index.js';
import { printTable, type BenchRow } from './harness.js';
import { alternate } from './compare.js';
import { createStepper } from './stepper.js';
import { progress, type StepConfig } from './step.js';

export interface TuneBenchOptions {
  /** Steps per timed block. */
  steps?: number;
  /** Blocks of each side, alternated. */
  rounds?: number;
  /** Time budget of one bucket's race (ms). */
  bucketMs?: number;
  /** Only the tables: skip the alternated step comparison. */
  tablesOnly?: boolean;
  /** A tuning cache folder to read and write (default none: every bucket raced afresh). */
  cache?: string;
}

const fmtMs = (ms: number): string => (ms >= 10 ? ms.toFixed(1) : ms >= 1 ? ms.toFixed(2) : ms.toFixed(3));

/** The tuned table of one config: op, bucket, problem, each candidate's median ms, static choice, winner, speed-up. */
export function tuneTable(title: string, results: readonly BucketResult[]): void {
  const rows = [...results].sort((a, b) => a.op.localeCompare(b.op) || a.bucket.localeCompare(b.bucket));
  console.log(`\n## ${title}`);
  console.log('| op | bucket | problem | candidates (ms per call, fastest sample) | static | winner | static / winner |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const cands = Object.entries(r.ms).sort((a, b) => a[1] - b[1]).map(([c, ms]) => `${c} ${fmtMs(ms)}`);
    const refused = Object.entries(r.rejected).map(([c, e]) => `${c} refused (error ${Number.isFinite(e) ? e.toExponential(1) : 'NaN'})`);
    const speedup = r.ms[r.staticChoice] !== undefined && r.ms[r.winner] !== undefined ? (r.ms[r.staticChoice]! / r.ms[r.winner]!).toFixed(2) : '-';
    console.log(`| ${r.op} | ${r.bucket} | ${r.problem} | ${[...cands, ...refused].join(', ') || '(one candidate)'} | ${r.staticChoice} | ${r.winner === r.staticChoice ? r.winner : `**${r.winner}**`} | ${speedup} |`);
  }
}

export async function benchTune(configs: StepConfig[], o: TuneBenchOptions = {}): Promise<void> {
  const steps = o.steps ?? 2;
  const rounds = o.rounds ?? 5;
  const rows: BenchRow[] = [];
  for (const { config, batch } of configs) {
    progress(`${config}${batch ? ` batch ${batch}` : ''}: init and tuning (${o.cache ? `cache ${o.cache}` : 'no cache: every bucket raced'})`);
    const tuned = await createStepper({ config, ...(batch ? { batch } : {}), tune: 'on', tuneCache: o.cache ?? null, ...(o.bucketMs ? { tuneBucketMs: o.bucketMs } : {}) });
    try {
      const rep = tuned.info.tune;
      if (!rep) throw new Error('bench tune: this engine has no tuner');
      const timer = rep.results[0]?.timer ?? 'wall';
      tuneTable(
        `tuned kernel choices, ${config} batch ${tuned.info.batch} on ${tuned.adapter()}: ${rep.tuned} buckets raced in ${(rep.ms / 1000).toFixed(1)} s (${timer} time)${rep.cached ? `, ${rep.cached} from the cache` : ''}, ` +
          `${rep.results.filter((r) => r.winner !== r.staticChoice).length} winners differ from the static choice${rep.skipped ? `, ${rep.skipped} left static (budget)` : ''}`,
        rep.results,
      );
      if (o.tablesOnly) continue;
      const base = await createStepper({ config, ...(batch ? { batch } : {}), tune: 'off' });
      try {
        const r = await alternate(base, tuned, { steps, rounds, labels: ['--tune off', '--tune on'], config });
        rows.push({ ...r.rowA, name: `--tune off: ${r.rowA.name}` });
        rows.push({ ...r.rowB, name: `--tune on: ${r.rowB.name}`, note: `${r.rowB.note}; ${r.summary}` });
      } finally {
        base.dispose();
      }
    } finally {
      tuned.dispose();
    }
  }
  if (rows.length) printTable(`training step, tuned beside static (median of ${rounds} alternated blocks of ${steps} steps each)`, rows);
}
