// The tuner: which kernel variant, tile or workgroup shape an op uses on THIS device, chosen by measurement.
// Every speed figure behind the static choices (engine/tuning/static.ts) comes from one device (lavapipe); the
// best variant for a problem differs on a discrete GPU, Apple silicon or SwiftShader, and no portable choice is
// near each device's own optimum (llama.cpp #22241: 44-80%). So, as Burn/CubeCL and Triton do, each tunable op
// names its candidates and the tuner races them on the device, per problem bucket:
//   - ops ask `choose(op, problem)` synchronously while recording; with no winner yet for the problem's bucket
//     they get the static choice, and in mode 'on' the bucket is noted;
//   - `tunePending()` (Engine.tune) races the noted buckets: every candidate's output is first checked against
//     the static choice's on the same inputs (a wrong kernel never wins), then the valid ones are timed in
//     interleaved rounds (A B C A B C ...: load noise on a shared machine hits all alike), by GPU timestamps
//     where the engine times kernels, else by wall time around onSubmittedWorkDone with enough calls per sample;
//     a candidate's time is its fastest sample (noise from other work only ever adds time, so the minimum is the
//     estimate least disturbed by it), and it replaces the static choice only when that beats the static
//     choice's by WIN_MARGIN and it also won most rounds against it, sample by sample;
//   - winners persist in a cache keyed by the device and the kernels' sources (engine/tuning/cache.ts).
// Modes: 'off' (the static choices), 'cached' (cached winners only; the library's default: a library never
// spends time measuring unless asked, and only the application knows a representative workload to tune), 'on'
// (tune what is missing; `node train.js`'s default).
import type { Tensor } from '../tensor.js';
import type { DeviceFeatures } from '../device.js';
import { tuneCacheKey, type TuneCache, type TuneCacheEntry, type TuneCacheKey } from './cache.js';

export type TuneMode = 'off' | 'cached' | 'on';
export const TUNE_MODES: readonly TuneMode[] = ['off', 'cached', 'on'];

/** What the adapter offers that candidates may need. */
export interface TuneCapabilities {
  features: DeviceFeatures;
  /** Smallest subgroup size the adapter may use (0 when unknown). Subgroup kernels need >= 8. */
  subgroupMinSize: number;
  /**
   * Subgroup-matrix configurations the adapter reports (`adapter.info.subgroupMatrixConfigs`, Dawn's
   * chromium-experimental-subgroup-matrix). No adapter here reports any, so no variant uses them yet: a
   * tensor-core / simdgroup-matrix matmul joins the race as a candidate whose `candidates()` entry requires
   * `subgroupMatrixConfigs > 0` (the hook is SUBGROUP_MATRIX_VARIANTS in engine/matmul_variants.ts).
   */
  subgroupMatrixConfigs: number;
  /** Mixed precision (`precision: 'mixed'`): f16-storage candidates join the race. */
  mixedPrecision: boolean;
}

/** The inputs of one problem, allocated once; `run(candidate)` records the op with that candidate forced. */
export interface TuneHarness {
  run(candidate: string): Tensor;
  dispose(): void;
}

/** An op whose kernel choice is tuned. P is its problem (shapes and flags). */
export interface TunableOp<P> {
  /** Names the op in cache keys, logs and the bench table: 'matmul', 'conv.fwd', 'reduce', ... */
  readonly name: string;
  /** The problem's bucket: problems in one bucket share a winner (each op's comment says why its rounding is safe). */
  bucket(p: P): string;
  /** The choice without tuning (engine/tuning/static.ts). */
  staticChoice(p: P, caps: TuneCapabilities): string;
  /** Every candidate that can run p on this adapter (the static choice among them). */
  candidates(p: P, caps: TuneCapabilities): string[];
  /** Inputs for p on `engine` (random, deterministic); run(candidate) returns the op's output, which the tuner disposes. */
  harness(p: P, engine: Engine): TuneHarness;
  /** Largest accepted max|candidate - static| / max|static| (0-size outputs always pass). */
  tolerance(candidate: string, p: P, caps: TuneCapabilities): number;
  /** The problem in words, for the bench table. */
  describe(p: P): string;
}

/** How one bucket's race ended (the bench table's row). */
export interface BucketResult {
  op: string;
  bucket: string;
  problem: string;
  staticChoice: string;
  winner: string;
  /** Fastest sample's ms per call of each timed candidate. */
  ms: Record<string, number>;
  /** Candidates refused by the output check, with the relative error they had. */
  rejected: Record<string, number>;
  /** Interleaved rounds timed. */
  rounds: number;
  /** How this bucket's winner was obtained. */
  source: 'tuned' | 'cache';
  /** 'timestamp' (GPU time) or 'wall' (onSubmittedWorkDone). */
  timer: 'timestamp' | 'wall';
}

export interface TuneReport {
  /** Buckets raced now. */
  tuned: number;
  /** Buckets whose winner came from the cache and that this process used so far. */
  cached: number;
  /** Buckets left on the static choice because the time budget ran out. */
  skipped: number;
  /** Wall ms spent racing. */
  ms: number;
  /** Buckets (tuned now) whose winner is not the static choice. */
  changed: number;
  results: BucketResult[];
  /** One line per problem the cache could not be written (or read) with. */
  warnings: string[];
}

/** Budgets of a tune call. */
export interface TuneBudget {
  /** Wall ms one bucket's timing may take (after its output checks), at least MIN_ROUNDS rounds. Default 600. */
  bucketMs?: number;
  /** Wall ms the whole call may take; the buckets left over keep the static choice (counted in `skipped`). Default 120,000. */
  totalMs?: number;
}

/** The engine, named through the tensors' registry (the tuner must not import engine.ts, which imports it). */
type Engine = Tensor['engine'];

/** GPU ms of the kernels run since the last call (timestamp queries), or null when the engine does not time kernels. */
async function gpuMs(engine: Engine): Promise<number | null> {
  if (!engine.runner.timingEnabled) return null;
  return (await engine.timings(true)).reduce((a, t) => a + t.totalMs, 0);
}

/** Fewer rounds than this do not decide anything: a single sample on a shared machine is noise. */
const MIN_ROUNDS = 5;
const MAX_ROUNDS = 25;
/** One timed sample is at least this long (calls repeated within it), so submit latency and timer jitter are small against it. */
const SAMPLE_MS = 4;
const MAX_CALLS_PER_SAMPLE = 64;
/** A candidate must beat the static choice's fastest sample by this fraction, and win most rounds, to replace it. */
const WIN_MARGIN = 0.05;
/** A candidate this many times slower than the best after the first or second round is dropped from the race. */
const DROP_FACTOR = 3;

interface Pending {
  op: TunableOp<unknown>;
  problem: unknown;
}

/** max |a - b| / max |b|: the candidate's error against the static choice's output (NaN anywhere fails). */
export function relativeError(out: Float32Array, ref: Float32Array): number {
  if (out.length !== ref.length) return Infinity;
  let scale = 0;
  let err = 0;
  for (let i = 0; i < ref.length; i++) {
    const r = ref[i]!;
    const o = out[i]!;
    if (!Number.isFinite(o) || !Number.isFinite(r)) {
      if (Number.isNaN(o) || o !== r) return Infinity;
      continue;
    }
    scale = Math.max(scale, Math.abs(r));
    err = Math.max(err, Math.abs(o - r));
  }
  return scale === 0 ? (err === 0 ? 0 : Infinity) : err / scale;
}

export class Tuner {
  /** Winners by `op|bucket`: from the cache, or raced in this process. */
  private readonly winners = new Map<string, TuneCacheEntry>();
  private readonly pending = new Map<string, Pending>();
  /** Buckets raced or read in this process, for reports. */
  private readonly seen = new Map<string, BucketResult>();
  /** While a harness runs a candidate: op name -> forced candidate. */
  private readonly forced = new Map<string, string>();
  private cacheLoaded = false;
  readonly warnings: string[] = [];
  private key: TuneCacheKey | null = null;

  constructor(
    readonly mode: TuneMode,
    readonly caps: TuneCapabilities,
    private readonly cache: TuneCache | null,
    private readonly identity: { device: string; backend: string },
  ) {}

  /** The cache's key for this device (adapter, backend, engine version, kernel sources). */
  get cacheKey(): TuneCacheKey {
    this.key ??= tuneCacheKey(this.identity.device, this.identity.backend, this.caps.mixedPrecision);
    return this.key;
  }

  /** Reads the cached winners (modes 'cached' and 'on'); a bad cache is ignored with one warning. */
  async load(): Promise<void> {
    if (this.cacheLoaded || this.mode === 'off' || !this.cache) return;
    this.cacheLoaded = true;
    const r = await this.cache.read(this.cacheKey);
    if (r.warning) this.warn(r.warning);
    for (const [k, v] of Object.entries(r.entries)) this.winners.set(k, v);
  }

  private warn(line: string): void {
    this.warnings.push(line);
    console.warn(line);
  }

  /** Cached or tuned winners, by `op|bucket`. */
  get winnerCount(): number {
    return this.winners.size;
  }

  /**
   * The candidate an op uses for a problem: a forced one (while the tuner races), else the bucket's winner where
   * it can run the problem, else the static choice (noting the bucket in mode 'on').
   */
  choose<P>(op: TunableOp<P>, p: P): string {
    const forced = this.forced.get(op.name);
    if (forced !== undefined) return forced;
    if (this.mode === 'off') return op.staticChoice(p, this.caps);
    const key = `${op.name}|${op.bucket(p)}`;
    const w = this.winners.get(key);
    if (w) {
      if (!this.seen.has(key)) this.seen.set(key, this.cachedResult(key, op as TunableOp<unknown>, p, w));
      if (op.candidates(p, this.caps).includes(w.winner)) return w.winner;
      return op.staticChoice(p, this.caps);
    }
    if (this.mode === 'on' && !this.pending.has(key)) this.pending.set(key, { op: op as TunableOp<unknown>, problem: p });
    return op.staticChoice(p, this.caps);
  }

  /** Buckets noted and not yet raced. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** The results of every bucket raced (or read from the cache and used) in this process. */
  results(): BucketResult[] {
    return [...this.seen.values()];
  }

  /**
   * Races every noted bucket (and the buckets the races themselves note, e.g. a split weight gradient's chunk
   * matmul), within the budget, then writes the cache. Mode 'off' or 'cached': nothing to do.
   */
  async tunePending(engine: Engine, budget: TuneBudget = {}): Promise<TuneReport> {
    const t0 = performance.now();
    const totalMs = budget.totalMs ?? 120_000;
    const results: BucketResult[] = [];
    let skipped = 0;
    const warningsBefore = this.warnings.length;
    if (this.mode === 'on') {
      while (this.pending.size > 0) {
        const [key, job] = this.pending.entries().next().value as [string, Pending];
        this.pending.delete(key);
        if (performance.now() - t0 > totalMs) {
          skipped++;
          continue;
        }
        const r = await this.race(engine, job.op, job.problem, budget.bucketMs ?? 600);
        this.winners.set(key, { winner: r.winner, staticChoice: r.staticChoice, ms: r.ms, ...(Object.keys(r.rejected).length ? { rejected: r.rejected } : {}), at: new Date().toISOString() });
        this.seen.set(key, r);
        results.push(r);
      }
      if (results.length && this.cache) {
        const w = await this.cache.write(this.cacheKey, Object.fromEntries(this.winners));
        if (w) this.warn(w);
      }
    }
    return {
      tuned: results.length,
      cached: [...this.seen.values()].filter((r) => r.source === 'cache').length,
      skipped,
      ms: performance.now() - t0,
      changed: results.filter((r) => r.winner !== r.staticChoice).length,
      results,
      warnings: this.warnings.slice(warningsBefore),
    };
  }

  /** A bucket whose winner came from the cache, as a result row. */
  private cachedResult(key: string, op: TunableOp<unknown>, p: unknown, w: TuneCacheEntry): BucketResult {
    return { op: op.name, bucket: key.slice(op.name.length + 1), problem: op.describe(p), staticChoice: w.staticChoice, winner: w.winner, ms: w.ms, rejected: w.rejected ?? {}, rounds: 0, source: 'cache', timer: 'wall' };
  }

  /** Runs `fn` with `op` forced to `candidate` (harnesses; also what a race does). */
  withForced<T>(op: string, candidate: string, fn: () => T): T {
    const before = this.forced.get(op);
    this.forced.set(op, candidate);
    try {
      return fn();
    } finally {
      if (before === undefined) this.forced.delete(op);
      else this.forced.set(op, before);
    }
  }

  private async race<P>(engine: Engine, op: TunableOp<P>, p: P, bucketMs: number): Promise<BucketResult> {
    const staticChoice = op.staticChoice(p, this.caps);
    const all = op.candidates(p, this.caps);
    const candidates = [staticChoice, ...all.filter((c) => c !== staticChoice)];
    const result: BucketResult = { op: op.name, bucket: op.bucket(p), problem: op.describe(p), staticChoice, winner: staticChoice, ms: {}, rejected: {}, rounds: 0, source: 'tuned', timer: 'wall' };
    if (candidates.length < 2) return result;
    const h = op.harness(p, engine);
    try {
      const runOnce = (c: string): Tensor => this.withForced(op.name, c, () => h.run(c));
      const read = async (c: string): Promise<Float32Array> => {
        const y = runOnce(c);
        try {
          return await y.read();
        } finally {
          y.dispose();
        }
      };
      // Correctness first: every candidate against the static choice, on the same inputs.
      const ref = await read(staticChoice);
      const valid = [staticChoice];
      for (const c of candidates.slice(1)) {
        let err: number;
        try {
          err = relativeError(await read(c), ref);
        } catch (e) {
          // A candidate that fails to compile or run on this device is out of the race, not an error of the run.
          this.warn(`tuning ${op.name} ${op.describe(p)}: candidate '${c}' failed (${(e as Error).message.split('\n')[0]}); it is left out`);
          err = Infinity;
        }
        if (err <= op.tolerance(c, p, this.caps)) valid.push(c);
        else result.rejected[c] = err;
      }
      if (valid.length < 2) return result;
      // Timing: calls per sample from one call of the static choice.
      const gpu = (await gpuMs(engine)) !== null;
      result.timer = gpu ? 'timestamp' : 'wall';
      const sample = async (c: string, calls: number): Promise<number> => {
        await engine.sync();
        if (gpu) await gpuMs(engine);
        const t = performance.now();
        for (let i = 0; i < calls; i++) engine.scope(() => void runOnce(c));
        await engine.sync();
        const wall = performance.now() - t;
        const device = gpu ? await gpuMs(engine) : null;
        return (device ?? wall) / calls;
      };
      const one = await sample(staticChoice, 1);
      const calls = Math.max(1, Math.min(MAX_CALLS_PER_SAMPLE, Math.ceil(SAMPLE_MS / Math.max(one, 1e-3))));
      const times = new Map<string, number[]>(valid.map((c) => [c, []]));
      let racing = [...valid];
      const t0 = performance.now();
      for (let round = 0; round < MAX_ROUNDS; round++) {
        if (round >= MIN_ROUNDS && performance.now() - t0 > bucketMs) break;
        // Rotate the order each round: no candidate always follows another's work.
        const order = racing.map((_, i) => racing[(i + round) % racing.length]!);
        for (const c of order) times.get(c)!.push(await sample(c, calls));
        result.rounds = round + 1;
        // A candidate far slower than the best after its first samples cannot win: it leaves the race.
        if (round <= 1) {
          const best = Math.min(...racing.map((c) => Math.min(...times.get(c)!)));
          racing = racing.filter((c) => c === staticChoice || Math.min(...times.get(c)!) <= DROP_FACTOR * best);
        }
      }
      for (const [c, ts] of times) result.ms[c] = Math.min(...ts);
      const base = times.get(staticChoice)!;
      let best = staticChoice;
      for (const c of racing) {
        if (c === staticChoice) continue;
        const ts = times.get(c)!;
        const n = Math.min(ts.length, base.length);
        let wins = 0;
        for (let i = 0; i < n; i++) if (ts[i]! < base[i]!) wins++;
        const beatsStatic = result.ms[c]! < result.ms[staticChoice]! * (1 - WIN_MARGIN) && wins * 3 >= n * 2;
        if (beatsStatic && result.ms[c]! < result.ms[best]!) best = c;
      }
      result.winner = best;
      return result;
    } finally {
      h.dispose();
      await engine.sync();
    }
  }
}
