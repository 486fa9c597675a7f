// Why: step times on a shared, noisy machine vary by tens of percent from one minute to the next, so a speed-up
// measured as two absolute times taken apart means little. `npm run bench -- step --compare REV` bundles
// bench/stepper.ts (this tree's copy) against REV's engine/, model/ and shaders/ (git archive into
// .bench-cache/, esbuild), loads both steppers in this process and alternates them, A B A B ..., so load
// noise hits both alike; it prints both medians and their ratio. REV may also be a stepper bundle (.js) built
// earlier (a GPU machine without git or esbuild: build it here with `--compare REV --build-only`).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, copyFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { printTable, type BenchRow } from './harness.js';
import { createStepper, STEPPER_API, type Stepper, type StepperOptions } from './stepper.js';
import { progress, stepRow, type StepConfig } from './step.js';
import { nodeBundle } from '../esbuild.options.mjs';

interface StepperModule {
  STEPPER_API: number;
  createStepper(opts: StepperOptions): Promise<Stepper>;
}

function git(root: string, args: string[]): string {
  return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** The path of REV's stepper bundle, built (and cached under .bench-cache/) if needed. */
export async function stepperBundle(rev: string, root = process.cwd()): Promise<string> {
  if (rev.endsWith('.js')) {
    if (!existsSync(rev)) throw new Error(`--compare ${rev}: no such stepper bundle`);
    return resolve(rev);
  }
  let sha: string;
  try {
    sha = git(root, ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`]);
  } catch {
    throw new Error(`--compare ${rev}: not a commit of the repository at ${root} (git rev-parse found nothing)`);
  }
  // This tree's stepper and step sources are part of the key: the same REV is rebuilt when they change.
  const here = join(root, 'bench', 'stepper.ts');
  if (!existsSync(here)) throw new Error(`--compare: ${here} not found (run from the repository root)`);
  const key = createHash('sha256').update(readFileSync(here)).update(readFileSync(join(root, 'train', 'step', 'step.ts'))).digest('hex').slice(0, 10);
  const dir = join(root, '.bench-cache', `${sha.slice(0, 12)}-${key}`);
  const out = join(dir, 'stepper.js');
  if (existsSync(out)) return out;
  const src = join(dir, 'src');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(src, { recursive: true });
  execFileSync('sh', ['-c', `git archive --format=tar ${sha} | tar -x -C "${src}"`], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  copyFileSync(here, join(src, 'bench', 'stepper.ts'));
  // The step itself (train/step/step.ts), which the stepper runs: this tree's, on REV's engine/ and model/.
  mkdirSync(join(src, 'train', 'step'), { recursive: true });
  copyFileSync(join(root, 'train', 'step', 'step.ts'), join(src, 'train', 'step', 'step.ts'));
  let build: (o: Record<string, unknown>) => Promise<unknown>;
  try {
    ({ build } = (await import('esbuild')) as unknown as { build: typeof build });
  } catch {
    throw new Error(`--compare ${rev}: esbuild is needed to bundle it (npm ci), or pass a stepper bundle built elsewhere (.js)`);
  }
  await build({ ...nodeBundle, entryPoints: [join(src, 'bench', 'stepper.ts')], outfile: out, nodePaths: [join(root, 'node_modules')], logLevel: 'error' });
  rmSync(src, { recursive: true, force: true });
  console.log(`built ${out} (bench/stepper.ts against ${rev} = ${sha.slice(0, 12)})`);
  return out;
}

export async function loadStepperModule(path: string): Promise<StepperModule> {
  const m = (await import(pathToFileURL(path).href)) as Partial<StepperModule>;
  if (typeof m.createStepper !== 'function') throw new Error(`${path} is not a stepper bundle (no createStepper)`);
  if (m.STEPPER_API !== STEPPER_API) throw new Error(`${path}: stepper API ${m.STEPPER_API}, this bench speaks ${STEPPER_API} (rebuild it)`);
  return m as StepperModule;
}

export interface CompareOptions {
  rev: string;
  batch?: number;
  /** Steps per timed block (pipelined steppers drain at the end of each). */
  steps?: number;
  /** Blocks of each side, alternated. */
  rounds?: number;
  /** false: this tree's step sequential (the old loop's readbacks), e.g. to isolate pipelining. */
  pipeline?: boolean;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/**
 * Runs two steppers alternately, `rounds` blocks of `steps` steps each (after a warm-up step each), the order
 * swapped every round; returns both rows (median ms per step) and a summary: the speed of b against a (ratio of
 * medians), the median and the spread of the per-round ratios, and b's dispatches per step against a's.
 */
export async function alternate(a: Stepper, b: Stepper, o: { steps: number; rounds: number; labels: [string, string]; config: string }): Promise<{ rowA: BenchRow; rowB: BenchRow; summary: string; ratio: number }> {
  await a.run(1);
  await b.run(1);
  const ta: number[] = [];
  const tb: number[] = [];
  let [da, db, sa, sb] = [0, 0, 0, 0];
  for (let r = 0; r < o.rounds; r++) {
    // Alternate which side goes first, so neither always follows the other's GPU work.
    const order = r % 2 === 0 ? [a, b] : [b, a];
    for (const s of order) {
      const x = await s.run(o.steps);
      if (s === a) [da, sa] = [x.dispatchesPerStep, x.submitsPerStep];
      else [db, sb] = [x.dispatchesPerStep, x.submitsPerStep];
      (s === a ? ta : tb).push(x.msPerStep);
      progress(`${o.config} round ${r + 1}/${o.rounds}: ${s === a ? o.labels[0] : o.labels[1]} ${x.msPerStep.toFixed(0)} ms/step`);
    }
  }
  const ma = median(ta);
  const mb = median(tb);
  // Blocks r of A and B ran back to back: their ratios share the load of that moment.
  const ratios = ta.map((t, i) => t / tb[i]!);
  console.log(`${o.config}: ${o.labels[0]} ${ta.map((t) => t.toFixed(0)).join(' ')} ms/step; ${o.labels[1]} ${tb.map((t) => t.toFixed(0)).join(' ')} ms/step`);
  return {
    rowA: stepRow(a, ma, da, sa),
    rowB: stepRow(b, mb, db, sb),
    ratio: ma / mb,
    summary: `speed ${(ma / mb).toFixed(3)}x ${o.labels[0]}'s (ratio of medians; per-block ratios median ${median(ratios).toFixed(3)}, ` +
      `spread ${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}: ${ratios.map((x) => x.toFixed(2)).join(' ')}), ${(db / da).toFixed(3)}x its dispatches/step`,
  };
}

export async function compareStep(configs: StepConfig[], o: CompareOptions): Promise<void> {
  const path = await stepperBundle(o.rev);
  const old = await loadStepperModule(path);
  const steps = o.steps ?? 3;
  const rounds = o.rounds ?? 5;
  const rows: BenchRow[] = [];
  for (const { config, batch: own } of configs) {
    const batch = own ?? o.batch;
    const opts: StepperOptions = { config, ...(batch ? { batch } : {}) };
    const a = await old.createStepper(opts);
    const b = await createStepper({ ...opts, pipeline: o.pipeline ?? true });
    try {
      progress(`${config} batch ${b.info.batch}: warm-up steps (${o.rev}: ${a.info.mode}; this tree: ${b.info.mode})`);
      const r = await alternate(a, b, { steps, rounds, labels: [o.rev, 'this tree'], config });
      rows.push({ ...r.rowA, name: `${o.rev}: ${r.rowA.name}` });
      rows.push({ ...r.rowB, name: `this tree: ${r.rowB.name}`, note: `${r.rowB.note}; ${r.summary}` });
    } finally {
      a.dispose();
      b.dispose();
    }
  }
  printTable(`training step, ${o.rev} beside this tree (median of ${rounds} alternated blocks of ${steps} steps each)`, rows);
}
