// What one rank of `mpirun -np N node train.js --distributed mpi` does (docs/DISTRIBUTED.md). Every rank holds
// the whole model on its own WebGPU device; rank 0 initialises it (data-dependent init included) or loads the
// checkpoint, and broadcasts parameters, EMA, Adamax state, step and data order. Each step every rank draws the
// same global batch of N x B indices from the shared seed and takes its own B of them (train/step/loop.ts
// batchIndices); its dropout masks and latent noise are those images' part of the global batch's draws
// (Ctx batchOffset). Before the backward the ranks exchange the step's loss terms, the free-bits channel means
// and the stop / time-limit flags (exchangeBeforeBackward: the free-bits gate is the global batch's, so the
// gradients are exactly those of one process with the global batch); after it the gradient arena is averaged
// with MPI_Allreduce on the host (averageGradients: chunks pipelined GPU -> host -> all-reduce -> GPU). So EMA,
// Adamax state and evaluation stay identical on every rank; a checksum of the whole state every K steps and
// before every checkpoint proves it (a mismatch stops the run). Rank 0 alone writes metrics, figures and
// checkpoints.
import { createHash } from 'node:crypto';
import { ops, type ParameterSet, type Tensor } from '../../engine/index.js';
import type { LossTerms } from '../../model/agave.js';
import { BatchOrder, type BatchOrderState } from '../data/datasets.js';
import type { StopSignal } from '../run/folder.js';
import type { Logger, TrainOptions } from '../types.js';
import { Mpi } from './mpi.js';
import { selectGpu } from './gpu-select.js';
import { rescaledBatch } from './rescale.js';
import type { DataParallelRank, DistributedOptions, RankRun } from './types.js';

/** Elements of the gradient arena per all-reduce (16 MiB; a multiple of 64: windows start 256-byte aligned). */
export const GRADIENT_CHUNK = 1 << 22;

/** Reads in flight ahead of the chunk being reduced. */
const READS_AHEAD = 2;

/** SHA-256 of the given arrays' bytes (the state checksum). */
export function stateChecksum(arrays: readonly (Float32Array | Uint8Array)[]): string {
  const h = createHash('sha256');
  for (const a of arrays) h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return h.digest('hex');
}

interface StepTimes {
  steps: number;
  exchangeMs: number;
  gradientMs: number;
  checksums: number;
}

/** One rank of a data-parallel run (the hooks train/step/setup.ts, train/step/loop.ts and train/evaluate/evaluate.ts call). */
export class DataParallel implements DataParallelRank {
  /** Agreed at each step's exchange: any rank's Ctrl-C / SIGTERM / SIGUSR1, or any rank past the time limit. */
  readonly agreed = { stop: false, outOfTime: false };
  private local: StopSignal = { requested: false };
  private readonly times: StepTimes = { steps: 0, exchangeMs: 0, gradientMs: 0, checksums: 0 };
  private stepsSinceChecksum = 0;

  private constructor(
    readonly mpi: Mpi,
    readonly options: DistributedOptions,
  ) {}

  get rank(): number {
    return this.mpi.rank;
  }

  get size(): number {
    return this.mpi.size;
  }

  /** Rank 0 writes metrics, figures and checkpoints; the others write nothing. */
  get writes(): boolean {
    return this.mpi.rank === 0;
  }

  /**
   * Starts MPI (koffi + libmpi), learns every rank's host, and picks this rank's GPU before WebGPU starts
   * (train/distributed/gpu-select.ts); prints one line per rank.
   */
  static async start(options: DistributedOptions, log: Logger): Promise<DataParallel> {
    const mpi = await Mpi.start({ timeoutSeconds: options.timeoutSeconds });
    const dp = new DataParallel(mpi, options);
    const gpu = selectGpu(mpi.localRank, mpi.localRanks.length, process.env);
    const me = mpi.ranks[mpi.rank]!;
    console.error(`rank ${mpi.rank}/${mpi.size} (host ${me.host}, local rank ${mpi.localRank} of ${mpi.localRanks.length}, pid ${me.pid}): ${gpu}`);
    if (dp.writes) log(`distributed: ${mpi.size} ranks on ${new Set(mpi.ranks.map((r) => r.host)).size} host(s) (${mpi.libraryPath}); collective timeout ${options.timeoutSeconds} s, state checksum every ${options.checksumEvery} steps`);
    if (dp.writes && !process.env.OMPI_MCA_odls_base_sigkill_timeout && process.env.OMPI_COMM_WORLD_SIZE) {
      log(`distributed: to stop with a checkpoint of the current step send SIGUSR1 to mpirun (kill -USR1 <mpirun's pid>: it forwards it to every rank). Ctrl-C on mpirun kills the ranks 1 s later (SIGTERM, then SIGKILL), keeping the last periodic checkpoint, unless mpirun was started with --mca odls_base_sigkill_timeout S (SIGTERM after S s: a graceful stop)`);
    }
    return dp;
  }

  /** Options every rank shares: rank 0's per-rank batch (derived from the checkpoint for --rescale-batch global). */
  async prepare(o: TrainOptions): Promise<TrainOptions> {
    await this.mpi.arrive('start-up');
    const batch = new Float64Array([this.writes ? (rescaledBatch(o, this.size) ?? o.batch ?? 0) : 0]);
    await this.mpi.broadcast(new Uint8Array(batch.buffer), 0, 'start-up (batch)');
    return batch[0]! > 0 ? { ...o, batch: batch[0]! } : o;
  }

  /**
   * The stop signal the run sees: requested once every rank has learnt, at a step's exchange, that some rank
   * was asked to stop (`local`: this process's signals). So all ranks stop after the same step, and nothing
   * else (an evaluation's sampling) stops on one rank alone.
   */
  agreedStop(local: StopSignal): StopSignal {
    this.local = local;
    const agreed = this.agreed;
    return {
      get requested(): boolean {
        return agreed.stop;
      },
      get signal(): string | undefined {
        return local.signal ?? (agreed.stop ? 'a stop on another rank' : undefined);
      },
    };
  }

  /** This rank's images of the next global batch: the shared order's next N x B indices, part `rank`. */
  batchIndices(order: BatchOrder, perRank: number): Uint32Array {
    const all = order.next(perRank * this.size);
    return all.slice(this.rank * perRank, (this.rank + 1) * perRank);
  }

  /** Images of the global batch before this rank's (the noise offset of Ctx). */
  batchOffset(perRank: number): number {
    return this.rank * perRank;
  }

  /**
   * After setupRun: rank 0's state (parameters, EMA, Adamax v and u, step, data order) on every rank, and the
   * same data everywhere (else an error naming the rank). Wraps run.save: checksum, then rank 0 writes.
   */
  async attach(run: RankRun): Promise<void> {
    const { params, trainSet, testSet } = run;
    console.error(`rank ${this.rank}/${this.size}: WebGPU adapter ${run.engine.description}`);
    const dataHash = stateChecksum([trainSet.images.subarray(0, trainSet.count * trainSet.height * trainSet.width * trainSet.channels), testSet.images]);
    await this.agree('the training and test data', dataHash, (r) => `${this.mpi.describeRank(r)} reads other data than rank 0 (its images hash differently): every rank must read the same --data`);
    const ck = this.writes ? await params.serialize() : null;
    const meta = { startStep: run.startStep, order: run.order.state(), ema: !!ck?.ema, state: !!ck?.v };
    const metaBytes = await this.broadcastBytes(this.writes ? new TextEncoder().encode(JSON.stringify(meta)) : null, 'start-up (step and data order)');
    const got = JSON.parse(new TextDecoder().decode(metaBytes)) as typeof meta;
    const arrays: Float32Array[] = [];
    const names: ('params' | 'ema' | 'v' | 'u')[] = ['params', ...(got.ema ? (['ema'] as const) : []), ...(got.state ? (['v', 'u'] as const) : [])];
    for (const name of names) {
      const mine = ck ? ck[name]! : new Float32Array(params.count);
      await this.mpi.broadcast(new Uint8Array(mine.buffer, mine.byteOffset, mine.byteLength), 0, `start-up (${name})`);
      arrays.push(mine);
    }
    if (!this.writes) {
      const [p, ...rest] = arrays;
      params.load({ names: params.names, shapes: params.shapes, params: p!, ...(got.ema ? { ema: rest.shift()! } : {}), ...(got.state ? { v: rest[0]!, u: rest[1]! } : {}) });
      run.startStep = got.startStep;
      run.order = BatchOrder.restore(trainSet.count, got.order as BatchOrderState);
    }
    const save = run.save.bind(run);
    run.save = async (step: number): Promise<void> => {
      await this.verifyState(params, step);
      if (this.writes) await save(step);
    };
    await this.verifyState(params, run.startStep);
  }

  /**
   * Before the backward (the forward is recorded): the step's loss terms (`packed`: loss, PixelCNN NLL, aux NLL,
   * true KL, KL objective), the free-bits channel means and this rank's stop (agreedStop) / time-limit flags are summed over
   * the ranks. The means of the global batch go back into the channel-mean tensors, which the free-bits
   * backward gates on (so the gradient is the global batch's), and `packed` gets the global terms (the KL
   * objective recomputed from the global means).
   */
  async exchangeBeforeBackward(t: LossTerms, packed: Tensor, local: { outOfTime: boolean }): Promise<void> {
    const t0 = performance.now();
    const e = packed.engine;
    const { channelMeans, klMin, weight } = t.freeBits;
    const values = await e.asyncScope(() => e.noGrad(() => ops.concat([packed, ...channelMeans.map((m) => ops.reshape(m, [m.size]))], 0)).read());
    const buf = new Float64Array(values.length + 2);
    buf.set(values);
    buf[values.length] = this.local.requested ? 1 : 0;
    buf[values.length + 1] = local.outOfTime ? 1 : 0;
    await this.mpi.arrive('the exchange before the backward');
    await this.mpi.allreduce(buf, 'loss terms, free-bits means and stop flags');
    this.agreed.stop = buf[values.length]! > 0;
    this.agreed.outOfTime = buf[values.length + 1]! > 0;
    const mean = (i: number): number => buf[i]! / this.size;
    let offset = packed.size;
    let klObjective = 0;
    for (const m of channelMeans) {
      const global = new Float32Array(m.size);
      for (let c = 0; c < m.size; c++) {
        global[c] = mean(offset + c);
        klObjective += Math.max(global[c]!, klMin);
      }
      e.write(m, global);
      offset += m.size;
    }
    const terms = Array.from({ length: packed.size }, (_, i) => mean(i));
    if (channelMeans.length > 0) {
      // loss = rest + weight * klObjective: the global rest is the mean of the ranks' (linear), the KL objective the global means'.
      terms[0] = terms[0]! + weight * (klObjective - terms[4]!);
      terms[4] = klObjective;
    }
    e.write(packed, terms);
    this.times.exchangeMs += performance.now() - t0;
  }

  /**
   * After the backward: the gradient arena averaged over the ranks, in chunks of GRADIENT_CHUNK elements: the
   * GPU -> host copies of the next chunks are in flight while one chunk is all-reduced (on an MPI worker
   * thread), and a reduced chunk is scaled and written back while the next one is reduced. Every
   * `checksumEvery` steps the state (as after the previous step) is first verified identical on all ranks.
   */
  async averageGradients(params: ParameterSet, step: number): Promise<void> {
    if (++this.stepsSinceChecksum >= this.options.checksumEvery) await this.verifyState(params, step - 1);
    const t0 = performance.now();
    const e = params.engine;
    const total = params.arenaSize;
    const ranges: { offset: number; size: number }[] = [];
    for (let o = 0; o < total; o += GRADIENT_CHUNK) ranges.push({ offset: o, size: Math.min(GRADIENT_CHUNK, total - o) });
    const windows = ranges.map((r) => e.window(params.gradArena, r.offset, [r.size], 'gradient all-reduce').keep());
    try {
      const reads: Promise<Float32Array>[] = [];
      const readUpTo = (k: number): void => {
        while (reads.length <= Math.min(k, ranges.length - 1)) reads.push(windows[reads.length]!.read());
      };
      const reduce = async (k: number): Promise<Float32Array> => {
        const v = await reads[k]!;
        await this.mpi.allreduce(v, `gradient all-reduce (chunk ${k + 1}/${ranges.length})`);
        return v;
      };
      readUpTo(READS_AHEAD);
      await this.mpi.arrive('the gradient all-reduce');
      let next = reduce(0);
      const inv = 1 / this.size;
      for (let k = 0; k < ranges.length; k++) {
        const summed = await next;
        readUpTo(k + 1 + READS_AHEAD);
        if (k + 1 < ranges.length) next = reduce(k + 1);
        for (let i = 0; i < summed.length; i++) summed[i]! *= inv;
        e.write(windows[k]!, summed);
      }
    } finally {
      for (const w of windows) w.dispose();
    }
    this.times.gradientMs += performance.now() - t0;
    this.times.steps++;
  }

  /** Every rank's checksum of the whole state (parameters, EMA, Adamax v and u) must equal rank 0's. */
  async verifyState(params: ParameterSet, step: number): Promise<void> {
    this.stepsSinceChecksum = 0;
    const ck = await params.serialize();
    const sum = stateChecksum([ck.params, ...(ck.ema ? [ck.ema] : []), ...(ck.v ? [ck.v, ck.u!] : [])]);
    this.times.checksums++;
    await this.agree(`the state after step ${step}`, sum, (r) =>
      `after step ${step} ${this.mpi.describeRank(r)} holds other parameters, EMA or Adamax state than rank 0 (checksum differs): the ranks diverged (a non-deterministic kernel or a hardware fault); stopping. The last checkpoint written is from before the divergence was seen`,
    );
  }

  /** A summary line for the end of the run (rank 0). */
  summary(): string {
    const n = Math.max(1, this.times.steps);
    return `distributed: ${this.size} ranks; per step: exchange before the backward ${(this.times.exchangeMs / n).toFixed(1)} ms, gradient all-reduce ${(this.times.gradientMs / n).toFixed(1)} ms (host round trip included; ${this.times.steps} steps); ${this.times.checksums} state checksums equal on every rank`;
  }

  finish(): void {
    this.mpi.finalize();
  }

  abort(code: number): never {
    return this.mpi.abort(code);
  }

  /** Every rank's `value` must equal rank 0's; else an error (on every rank) made by `differs(rank)`. */
  private async agree(what: string, value: string, differs: (rank: number) => string): Promise<void> {
    await this.mpi.arrive(`checksum of ${what}`);
    const bytes = new TextEncoder().encode(value.padEnd(64).slice(0, 64));
    const all = await this.mpi.allgather(bytes, `checksum of ${what}`);
    const text = all.map((b) => new TextDecoder().decode(b));
    const bad = text.findIndex((v) => v !== text[0]);
    if (bad > 0) throw new Error(differs(bad));
  }

  private async broadcastBytes(bytes: Uint8Array | null, label: string): Promise<Uint8Array> {
    await this.mpi.arrive(label);
    const len = new Float64Array([bytes?.length ?? 0]);
    await this.mpi.broadcast(new Uint8Array(len.buffer), 0, label);
    const buf = bytes ?? new Uint8Array(len[0]!);
    await this.mpi.broadcast(buf, 0, label);
    return buf;
  }
}
