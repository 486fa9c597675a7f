// The MPI binding of `--distributed mpi`: libmpi (Open MPI) called through koffi, a C FFI for Node. Both are
// optional: this module loads them at run time (a variable specifier, like the engine's `webgpu`), only for
// --distributed mpi, and says how to install each when it is missing. Collectives run on koffi's worker
// threads (MPI_THREAD_MULTIPLE), so the JS thread stays free: GPU readbacks and writes of other gradient chunks
// proceed while one chunk is reduced, and a timer bounds every collective. A collective that does not complete
// in time ends the job with a message naming the ranks that never reached it (point-to-point reports to rank
// 0, which calls MPI_Abort), never a silent hang. A rank that dies is noticed by mpirun itself, which ends the
// job naming it.
import { hostname } from 'node:os';

/** The part of koffi (>= 3.1) this module uses; declared here so that type-checking needs no koffi. */
interface KoffiFunction {
  (...args: unknown[]): unknown;
  async: (...args: unknown[]) => void;
}
interface KoffiLibrary {
  func(name: string, result: unknown, args: unknown[]): KoffiFunction;
  symbol(name: string): bigint;
}
interface Koffi {
  version: string;
  load(path: string): KoffiLibrary;
  out(type: unknown): unknown;
  pointer(type: string): unknown;
}

export const KOFFI_MISSING = "--distributed mpi needs the 'koffi' package (a C FFI for Node, loaded only by this flag): install it with  npm install koffi@3";
export const LIBMPI_MISSING = '--distributed mpi needs Open MPI\'s libmpi: install it with  sudo apt-get install openmpi-bin  (Debian/Ubuntu; elsewhere your Open MPI, or set AGAVE_LIBMPI=/path/to/libmpi.so)';
export const NO_LAUNCHER =
  '--distributed mpi: this process was not started by an MPI launcher. Run it as  mpirun -np N node train.js --distributed mpi [flags]  (as root add --allow-run-as-root), or with srun --mpi=pmix under Slurm (docs/DISTRIBUTED.md)';

/**
 * The launcher that started this process, from the variables launchers set (null: none, a plain `node`):
 * Open MPI's mpirun, a PMIx launcher (srun --mpi=pmix, prterun), a PMI-2 launcher (srun --mpi=pmi2, MPICH's hydra).
 */
export function launcherOf(env: NodeJS.ProcessEnv): { name: string; rank: number; size: number } | null {
  const num = (v: string | undefined): number => (v !== undefined && /^\d+$/.test(v) ? Number(v) : NaN);
  const pick = (name: string, rank: string | undefined, size: string | undefined): { name: string; rank: number; size: number } | null => {
    const r = num(rank);
    return Number.isNaN(r) ? null : { name, rank: r, size: num(size) };
  };
  return (
    pick('mpirun (Open MPI)', env.OMPI_COMM_WORLD_RANK, env.OMPI_COMM_WORLD_SIZE) ??
    pick('PMIx (srun --mpi=pmix, prterun)', env.PMIX_RANK, env.PMIX_SIZE ?? env.SLURM_NTASKS) ??
    pick('PMI-2 (srun --mpi=pmi2, hydra)', env.PMI_RANK, env.PMI_SIZE)
  );
}

/** Library names tried in order (AGAVE_LIBMPI first when set). */
export function libmpiCandidates(env: NodeJS.ProcessEnv): string[] {
  const own = env.AGAVE_LIBMPI ? [env.AGAVE_LIBMPI] : [];
  return [...own, 'libmpi.so.40', 'libmpi.so', 'libmpi.40.dylib', 'libmpi.dylib'];
}

async function loadKoffi(): Promise<Koffi> {
  const name = 'koffi'; // a variable specifier: bundlers leave it alone (esbuild also marks it external)
  let mod: { default?: Koffi } & Partial<Koffi>;
  try {
    mod = (await import(/* @vite-ignore */ name)) as typeof mod;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') throw new Error(KOFFI_MISSING);
    throw new Error(`--distributed mpi: cannot load 'koffi': ${(err as Error).message} (reinstall it: npm install koffi@3)`);
  }
  const k = (mod.default ?? mod) as Koffi;
  const [major, minor] = String(k.version ?? '0').split('.').map(Number) as [number, number];
  if (!(major > 3 || (major === 3 && minor >= 1))) throw new Error(`--distributed mpi needs koffi 3.1 or later (found ${k.version}): npm install koffi@3`);
  return k;
}

/** Open MPI's MPI_THREAD_MULTIPLE (mpi.h enum: SINGLE, FUNNELED, SERIALIZED, MULTIPLE). */
const THREAD_MULTIPLE = 3;
/** MPI_IN_PLACE in Open MPI: (void *) 1. */
const IN_PLACE = 1n;
const TAG_PROBE = 2601;
const TAG_PROBE_REPLY = 2602;

export type ReduceOp = 'sum' | 'max' | 'min';

/** Who each rank is (gathered once at start). */
export interface RankInfo {
  rank: number;
  host: string;
  pid: number;
}

export interface MpiOptions {
  /** Seconds a collective may take before the job is ended (every rank must reach it by then). */
  timeoutSeconds: number;
  /** Seconds rank 0 waits for the other ranks' answers after a timeout before naming the missing ones. */
  graceSeconds?: number;
  /** Where the messages go (stderr). */
  log?: (line: string) => void;
}

/** MPI_COMM_WORLD through Open MPI's libmpi: rank, size, and the collectives data-parallel training uses. */
export class Mpi {
  readonly rank: number;
  readonly size: number;
  /** Every rank's host and pid, by rank. */
  ranks: RankInfo[] = [];
  private seq = 0;
  private finalized = false;
  private readonly h: { world: bigint; float: bigint; double: bigint; byte: bigint; int: bigint; ops: Record<ReduceOp, bigint> };
  private readonly f: Record<'allreduce' | 'bcast' | 'allgather' | 'barrier' | 'ibarrier' | 'isend' | 'irecv' | 'test' | 'cancel' | 'requestFree' | 'abort' | 'finalize', KoffiFunction>;

  private constructor(
    lib: KoffiLibrary,
    koffi: Koffi,
    readonly libraryPath: string,
    private readonly opts: Required<MpiOptions>,
  ) {
    const P = 'void *';
    const sym = (n: string): bigint => {
      try {
        return lib.symbol(n);
      } catch {
        throw new Error(`--distributed mpi: ${libraryPath} has no '${n}': it is not Open MPI's libmpi (MPICH and others use other handles; use Open MPI)`);
      }
    };
    this.h = {
      world: sym('ompi_mpi_comm_world'),
      float: sym('ompi_mpi_float'),
      double: sym('ompi_mpi_double'),
      byte: sym('ompi_mpi_byte'),
      int: sym('ompi_mpi_int'),
      ops: { sum: sym('ompi_mpi_op_sum'), max: sym('ompi_mpi_op_max'), min: sym('ompi_mpi_op_min') },
    };
    const intOut = koffi.out(koffi.pointer('int'));
    const init = lib.func('MPI_Initialized', 'int', [intOut]);
    const already = [0];
    init(already);
    if (!already[0]) {
      const provided = [0];
      const rc = lib.func('MPI_Init_thread', 'int', [P, P, 'int', intOut])(null, null, THREAD_MULTIPLE, provided) as number;
      if (rc !== 0) throw new Error(`--distributed mpi: MPI_Init_thread failed (error ${rc})`);
      if (provided[0]! < THREAD_MULTIPLE) throw new Error(`--distributed mpi: this MPI provides thread level ${provided[0]}, not MPI_THREAD_MULTIPLE (collectives run on worker threads); use an Open MPI built with thread support (Debian's is)`);
    }
    const rank = [0];
    const size = [0];
    lib.func('MPI_Comm_rank', 'int', [P, intOut])(this.h.world, rank);
    lib.func('MPI_Comm_size', 'int', [P, intOut])(this.h.world, size);
    this.rank = rank[0]!;
    this.size = size[0]!;
    this.f = {
      allreduce: lib.func('MPI_Allreduce', 'int', [P, P, 'int', P, P, P]),
      bcast: lib.func('MPI_Bcast', 'int', [P, 'int', P, 'int', P]),
      allgather: lib.func('MPI_Allgather', 'int', [P, 'int', P, P, 'int', P, P]),
      barrier: lib.func('MPI_Barrier', 'int', [P]),
      ibarrier: lib.func('MPI_Ibarrier', 'int', [P, P]),
      isend: lib.func('MPI_Isend', 'int', [P, 'int', P, 'int', 'int', P, P]),
      irecv: lib.func('MPI_Irecv', 'int', [P, 'int', P, 'int', 'int', P, P]),
      test: lib.func('MPI_Test', 'int', [P, P, P]),
      cancel: lib.func('MPI_Cancel', 'int', [P]),
      requestFree: lib.func('MPI_Request_free', 'int', [P]),
      abort: lib.func('MPI_Abort', 'int', [P, 'int']),
      finalize: lib.func('MPI_Finalize', 'int', []),
    };
  }

  /**
   * Loads koffi and libmpi and initialises MPI (MPI_THREAD_MULTIPLE), then gathers every rank's host and pid.
   * Errors: not started by a launcher, koffi or libmpi missing: one line each, with the command that fixes it.
   */
  static async start(options: MpiOptions, env: NodeJS.ProcessEnv = process.env): Promise<Mpi> {
    if (!launcherOf(env)) throw new Error(NO_LAUNCHER);
    const koffi = await loadKoffi();
    let lib: KoffiLibrary | null = null;
    let path = '';
    const failures: string[] = [];
    for (const candidate of libmpiCandidates(env)) {
      try {
        lib = koffi.load(candidate);
        path = candidate;
        break;
      } catch (e) {
        failures.push(`${candidate}: ${(e as Error).message.split('\n')[0]}`);
      }
    }
    if (!lib) {
      if (env.AGAVE_LIBMPI) throw new Error(`--distributed mpi: cannot load AGAVE_LIBMPI=${env.AGAVE_LIBMPI} (${failures[0]}); ${LIBMPI_MISSING}`);
      throw new Error(LIBMPI_MISSING);
    }
    const log = options.log ?? ((line: string) => console.error(line));
    const mpi = new Mpi(lib, koffi, path, { graceSeconds: Math.min(5, Math.max(1, options.timeoutSeconds / 4)), log, ...options });
    const me = new TextEncoder().encode(JSON.stringify({ host: hostname(), pid: process.pid }).padEnd(256));
    if (me.length > 256) throw new Error(`--distributed mpi: this host's name is too long (${hostname()})`);
    const all = await mpi.allgather(me, 'start-up (every rank\'s host)');
    mpi.ranks = all.map((b, rank) => ({ rank, ...(JSON.parse(new TextDecoder().decode(b).trim()) as { host: string; pid: number }) }));
    return mpi;
  }

  /** The ranks on this rank's host (by rank): the local rank is this rank's index among them. */
  get localRanks(): RankInfo[] {
    const host = this.ranks[this.rank]!.host;
    return this.ranks.filter((r) => r.host === host);
  }

  get localRank(): number {
    return this.localRanks.findIndex((r) => r.rank === this.rank);
  }

  describeRank(r: number): string {
    const i = this.ranks[r];
    return i ? `rank ${r} (host ${i.host}, pid ${i.pid})` : `rank ${r}`;
  }

  /** Sums (or max / min) `buf` over all ranks, in place. */
  allreduce(buf: Float32Array | Float64Array, label: string, op: ReduceOp = 'sum'): Promise<void> {
    const type = buf instanceof Float32Array ? this.h.float : this.h.double;
    return this.collective(label, (done) => this.f.allreduce.async(IN_PLACE, buf, buf.length, type, this.h.ops[op], this.h.world, done));
  }

  /** Rank `root`'s bytes into `buf` on every rank (in pieces of at most 1 GiB: MPI counts are int). */
  async broadcast(buf: Uint8Array, root: number, label: string): Promise<void> {
    const piece = 1 << 30;
    for (let o = 0; o < buf.length || o === 0; o += piece) {
      const part = buf.subarray(o, Math.min(buf.length, o + piece));
      await this.collective(label, (done) => this.f.bcast.async(part, part.length, this.h.byte, root, this.h.world, done));
      if (buf.length === 0) break;
    }
  }

  /** Every rank's `bytes` (the same length on every rank), by rank. */
  async allgather(bytes: Uint8Array, label: string): Promise<Uint8Array[]> {
    const out = new Uint8Array(bytes.length * this.size);
    await this.collective(label, (done) => this.f.allgather.async(bytes, bytes.length, this.h.byte, out, bytes.length, this.h.byte, this.h.world, done));
    return Array.from({ length: this.size }, (_, r) => out.slice(r * bytes.length, (r + 1) * bytes.length));
  }

  barrier(label: string): Promise<void> {
    return this.collective(label, (done) => this.f.barrier.async(this.h.world, done));
  }

  /**
   * Waits, without spinning, until every rank has arrived here (a non-blocking barrier polled with growing
   * sleeps of up to 2 ms), bounded by the timeout like a collective. Blocking MPI collectives busy-poll while
   * they wait for a late rank; call this first where the ranks may arrive far apart (after the forward, the
   * backward, an evaluation), so that the waiting costs no CPU the GPU driver or other ranks need (on lavapipe
   * a spinning rank takes a core from the others).
   */
  async arrive(label: string): Promise<void> {
    const seq = ++this.seq;
    this.inCollective = true;
    this.listen();
    const req = new BigUint64Array(1);
    const flag = new Int32Array(1);
    const rc = this.f.ibarrier(this.h.world, req) as number;
    if (rc !== 0) throw new Error(`MPI ${label}: MPI_Ibarrier error code ${rc}`);
    const deadline = performance.now() + this.opts.timeoutSeconds * 1000;
    let sleep = 0.05;
    for (;;) {
      this.f.test(req, flag, null);
      if (flag[0]) break;
      if (performance.now() > deadline) {
        await this.timedOut(seq, label);
        return;
      }
      await new Promise((r) => setTimeout(r, sleep));
      sleep = Math.min(2, sleep * 2);
    }
    this.inCollective = false;
  }

  /** Ends the whole job (every rank) with `code`. */
  abort(code: number): never {
    this.f.abort(this.h.world, code);
    process.exit(code); // MPI_Abort does not return; this is for the type
  }

  finalize(): void {
    if (this.finalized) return;
    this.finalized = true;
    if (this.probe) {
      // The probe receive never matched (no timeout): cancel it, so that MPI_Finalize has nothing pending.
      clearInterval(this.probe.timer);
      this.f.test(this.probe.req, this.probe.flag, null);
      if (!this.probe.flag[0]) {
        this.f.cancel(this.probe.req);
        this.f.requestFree(this.probe.req);
      }
    }
    this.f.finalize();
  }

  /** Runs one collective on a worker thread, bounded by the timeout (then: timedOut, which ends the job). */
  private collective(label: string, start: (done: (err: unknown, rc: unknown) => void) => void): Promise<void> {
    const seq = ++this.seq;
    this.inCollective = true;
    this.listen();
    return new Promise<void>((resolve, reject) => {
      let finished = false;
      const timer = setTimeout(() => {
        if (!finished) void this.timedOut(seq, label);
      }, this.opts.timeoutSeconds * 1000);
      start((err, rc) => {
        finished = true;
        this.inCollective = false;
        clearTimeout(timer);
        if (err) reject(new Error(`MPI ${label}: ${String(err)}`));
        else if (rc !== 0) reject(new Error(`MPI ${label}: error code ${String(rc)}`));
        else resolve();
      });
    });
  }

  private inCollective = false;
  private probe: { buf: Int32Array; req: BigUint64Array; flag: Int32Array; timer: NodeJS.Timeout } | null = null;

  /**
   * Ranks other than 0 answer rank 0's probes (after a timeout) with where they are: the number of their
   * current or last collective and whether they are waiting in it. Polled every 250 ms while the event loop
   * runs (a rank whose JS thread is alive answers even when its GPU work hangs).
   */
  private listen(): void {
    if (this.rank === 0 || this.probe || this.finalized) return;
    const p = { buf: new Int32Array(1), req: new BigUint64Array(1), flag: new Int32Array(1), timer: setInterval(() => this.answerProbe(), 250) };
    p.timer.unref();
    this.f.irecv(p.buf, 1, this.h.int, 0, TAG_PROBE, this.h.world, p.req);
    this.probe = p;
  }

  private answerProbe(): void {
    const p = this.probe;
    if (!p || this.finalized) return;
    this.f.test(p.req, p.flag, null);
    if (!p.flag[0]) return;
    const reply = new Int32Array([this.seq, this.inCollective ? 1 : 0]);
    const req = new BigUint64Array(1);
    this.f.isend(reply, 2, this.h.int, 0, TAG_PROBE_REPLY, this.h.world, req);
    this.replies.push({ reply, req }); // kept alive until the job ends (one probe per job)
  }

  private replies: { reply: Int32Array; req: BigUint64Array }[] = [];

  /**
   * A collective did not complete in time. Rank 0 probes every other rank, waits a grace period for the
   * answers and ends the job with MPI_Abort, naming the ranks that never reached the collective: those that
   * did not answer (stopped, hung or dead) and those alive elsewhere. A rank other than 0 leaves the verdict
   * to rank 0 (which times out too, at most one timeout later); if rank 0 does not end the job by then, rank
   * 0 is the one missing, and this rank ends the job saying so.
   */
  private async timedOut(seq: number, label: string): Promise<void> {
    const { timeoutSeconds, graceSeconds, log } = this.opts;
    const what = `the collective '${label}' (#${seq}) did not complete within ${timeoutSeconds} s`;
    const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
    if (this.rank !== 0) {
      log(`rank ${this.rank}: ${what}; rank 0 names the missing rank and ends the job`);
      await sleep((timeoutSeconds + graceSeconds) * 1000 + 5000);
      log(`rank ${this.rank}: ${what}, and rank 0 has not ended the job: ${this.describeRank(0)} did not reach it (hung or stopped). Ending the job (MPI_Abort).`);
      this.abort(1);
    }
    const others = Array.from({ length: this.size - 1 }, (_, i) => {
      const r = i + 1;
      const p = { r, ask: new Int32Array([seq]), askReq: new BigUint64Array(1), buf: new Int32Array([-1, 0]), req: new BigUint64Array(1), flag: new Int32Array(1) };
      this.f.irecv(p.buf, 2, this.h.int, r, TAG_PROBE_REPLY, this.h.world, p.req);
      this.f.isend(p.ask, 1, this.h.int, r, TAG_PROBE, this.h.world, p.askReq);
      return p;
    });
    const deadline = performance.now() + graceSeconds * 1000;
    while (performance.now() < deadline && others.some((p) => !p.flag[0])) {
      for (const p of others) if (!p.flag[0]) this.f.test(p.req, p.flag, null);
      await sleep(50);
    }
    const waiting = [0, ...others.filter((p) => p.flag[0] && p.buf[0] === seq && p.buf[1] === 1).map((p) => p.r)];
    const silent = others.filter((p) => !p.flag[0]).map((p) => `${this.describeRank(p.r)} did not answer (stopped, hung or dead)`);
    const elsewhere = others
      .filter((p) => p.flag[0] && !(p.buf[0] === seq && p.buf[1] === 1))
      .map((p) => `${this.describeRank(p.r)} is alive but ${p.buf[1] === 1 ? `waiting in collective #${p.buf[0]}` : `has not reached it (its last collective: #${p.buf[0]}; still computing, e.g. a GPU hang)`}`);
    const names = [...silent, ...elsewhere];
    log(
      `rank 0: ${what}: ${names.length ? names.join('; ') : 'every rank reached it, yet it did not complete (an MPI or network fault)'}. ` +
        `Waiting in it: rank${waiting.length > 1 ? 's' : ''} ${waiting.join(', ')}. Ending the job (MPI_Abort); the last checkpoint written is intact.`,
    );
    this.abort(1);
  }
}
