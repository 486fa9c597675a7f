// A run folder belongs to one run. openRunFolder() is the first thing a training run does:
//   1. the --out path is checked before anything is created: pseudo-filesystems (/proc, /sys, ...) and paths
//      through a file are refused; missing folders are made one level at a time (Node 20's recursive mkdir
//      spins forever under /proc and reports ENOENT for a read-only parent), errors say EROFS/EACCES/ENOSPC;
//   2. a lock file (run.lock: pid, host, start time, run id, command) is created atomically; a live holder is
//      refused by name, a stale one (its pid is gone, same host) is taken over with a message;
//   3. temporary files of dead writers (*.tmp-<pid>) are removed;
//   4. a folder that holds a checkpoint or metrics is refused unless resuming; --overwrite moves the old run's
//      files into replaced-<time>/ (nothing is deleted);
//   5. runs/latest is pointed at a default run folder.
// RunFolder.start(step) then trims metrics.jsonl to the checkpoint's step on a resume (no duplicate records)
// and appends a `{ type: 'run' }` record naming the run; release() removes the lock.
import {
  existsSync, linkSync, lstatSync, mkdirSync, openSync, closeSync, readdirSync, readFileSync, readlinkSync, renameSync, rmdirSync, statfsSync,
  statSync, symlinkSync, unlinkSync, writeFileSync, writeSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { readCheckpointStep } from './checkpoint-file.js';
import { explainFsError, fsErrorCode } from '../common/fs-errors.js';
import { appendJsonl, truncateJsonlAfterStep } from './metrics.js';
import type { StopSignal } from './stop.js';

export const CHECKPOINT_FILE = 'checkpoint.agave';
export const METRICS_FILE = 'metrics.jsonl';
export const LOCK_FILE = 'run.lock';

// The stop signal and its error are platform-free (train/run/stop.ts: a page's Pause uses them too).
export { StopRequested, type StopSignal } from './stop.js';

/** The run-folder and stop settings of a training run (TrainOptions extends this). */
export interface RunFolderOptions {
  /** Start afresh in an --out that holds an earlier run: its files are first moved into OUT/replaced-<time>/. */
  overwrite?: boolean;
  /** Point `latest` next to `out` at it (the CLI's default run folder runs/<time>). */
  linkLatest?: boolean;
  /** Graceful stop (train/run/signals.ts sets it on SIGINT/SIGTERM). */
  stopSignal?: StopSignal;
  /** How to continue after a stop, for the stop's log line (default: 'continue with --resume'). */
  resumeHint?: string;
}

/** A refused or impossible run folder; the message names the path and the ways out. */
export class RunFolderError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RunFolderError';
  }
}

export interface LockInfo {
  pid: number;
  host: string;
  /** ISO time the run started. */
  started: string;
  runId: string;
  command: string;
}

type Logger = (line: string) => void;

// ---------------------------------------------------------------------------------------------------------------
// The --out path

/** Kernel pseudo-filesystems (statfs f_type): never storage for a run. */
const PSEUDO_FS: Record<number, string> = {
  0x9fa0: 'proc', 0x62656572: 'sysfs', 0x27e0eb: 'cgroup', 0x63677270: 'cgroup2', 0x64626720: 'debugfs', 0x74726163: 'tracefs',
  0x73636673: 'securityfs', 0x1cd1: 'devpts', 0x62656570: 'configfs', 0xcafe4a11: 'bpf', 0x6165676c: 'pstore', 0xde5e81e4: 'efivarfs',
  0x65735543: 'fusectl',
};
const PSEUDO_ROOTS: [string, string][] = [['/proc', 'proc'], ['/sys', 'sysfs']];

function pseudoFs(path: string): string | undefined {
  if (process.platform !== 'linux') return undefined;
  for (const [root, fs] of PSEUDO_ROOTS) if (path === root || path.startsWith(root + '/')) return fs;
  try {
    return PSEUDO_FS[statfsSync(path).type >>> 0];
  } catch {
    return undefined;
  }
}

/** A stamp for folder names: 20250131-142501 (local time). */
export function timeStamp(d = new Date()): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/** A new run folder under `root` that does not exist yet: root/<time>, root/<time>-2, ... */
export function newRunFolder(root = 'runs', d = new Date()): string {
  const base = join(root, timeStamp(d));
  let p = base;
  for (let k = 2; existsSync(p); k++) p = `${base}-${k}`;
  return p;
}

/** A checked --out: the folder to write in, and the folders prepareOutDir created for it (outermost first). */
export interface PreparedOut {
  /** `out` itself, or the target of a symbolic link. */
  dir: string;
  created: string[];
}

/**
 * Checks `out` and creates it (and missing parents, one level at a time) without following Node's recursive
 * mkdir into pseudo-filesystems. Returns the folder to use: `out` itself, or the target of a symbolic link.
 */
export function prepareOutDir(out: string, flag = '--out'): string {
  return prepareOut(out, flag).dir;
}

/** prepareOutDir, also saying which folders it created (a failed start removes them again: removeCreated). */
export function prepareOut(out: string, flag = '--out'): PreparedOut {
  if (out.length === 0) throw new RunFolderError(`${flag} must not be empty`);
  const abs = resolve(out);
  const dangling = danglingLinkTarget(abs);
  if (dangling !== null) {
    throw new RunFolderError(`${flag} ${out}: a symbolic link to ${dangling}, which does not exist; create that folder or point the link at one`);
  }
  const missing: string[] = [];
  let probe = abs;
  for (;;) {
    try {
      const st = statSync(probe);
      if (!st.isDirectory()) {
        throw new RunFolderError(probe === abs ? `${flag} ${out}: is a file, not a folder` : `${flag} ${out}: ${probe} is a file, not a folder`);
      }
      break;
    } catch (e) {
      if (e instanceof RunFolderError) throw e;
      const code = fsErrorCode(e);
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw new RunFolderError(`${flag} ${out}: cannot use ${probe} (${explainFsError(e)})`, { cause: e });
      missing.unshift(probe);
      const up = dirname(probe);
      if (up === probe) throw new RunFolderError(`${flag} ${out}: no existing folder above it`);
      probe = up;
    }
  }
  const fs = pseudoFs(probe) ?? pseudoFs(abs);
  if (fs !== undefined) {
    throw new RunFolderError(`${flag} ${out}: ${probe} is on the ${fs} pseudo-filesystem (kernel state, not storage); choose a folder on a disk, e.g. runs/NAME`);
  }
  const created: string[] = [];
  for (const d of missing) {
    try {
      mkdirSync(d);
      created.push(d);
    } catch (e) {
      if (fsErrorCode(e) === 'EEXIST' && statSync(d).isDirectory()) continue;
      removeCreated(created);
      throw new RunFolderError(`${flag} ${out}: cannot create the folder ${d} (${explainFsError(e)}); nothing was written`, { cause: e });
    }
  }
  try {
    if (lstatSync(abs).isSymbolicLink()) {
      const t = readlinkSync(abs);
      return { dir: isAbsolute(t) ? t : join(dirname(out), t), created };
    }
  } catch {
    // not a link
  }
  return { dir: out, created };
}

/** The target of `path` when it is a symbolic link whose target does not exist; null otherwise. */
function danglingLinkTarget(path: string): string | null {
  try {
    if (!lstatSync(path).isSymbolicLink()) return null;
  } catch {
    return null;
  }
  if (existsSync(path)) return null;
  const t = readlinkSync(path);
  return isAbsolute(t) ? t : join(dirname(path), t);
}

/** Removes folders that prepareOut created, innermost first, where they are still empty (a failed start). */
export function removeCreated(created: readonly string[]): void {
  for (const d of [...created].reverse()) {
    try {
      rmdirSync(d);
    } catch {
      // not empty (something was written after all) or already gone: keep it
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The lock

function pidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return fsErrorCode(e) === 'EPERM';
  }
}

export function readLock(path: string): LockInfo | null {
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockInfo>;
    if (typeof v.pid !== 'number' || typeof v.host !== 'string' || typeof v.runId !== 'string') return null;
    return { pid: v.pid, host: v.host, started: String(v.started ?? '?'), runId: v.runId, command: String(v.command ?? '?') };
  } catch {
    return null;
  }
}

/** Creates `path` holding `content` iff it does not exist; the content is complete when it appears. */
function createExclusive(path: string, content: string): boolean {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, content);
  try {
    linkSync(tmp, path);
    return true;
  } catch (e) {
    const code = fsErrorCode(e);
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw e;
    // No hard links on this filesystem: an exclusive create (the content may briefly be partial).
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (e2) {
      if (fsErrorCode(e2) === 'EEXIST') return false;
      throw e2;
    }
    try {
      writeSync(fd, content);
    } finally {
      closeSync(fd);
    }
    return true;
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // gone already
    }
  }
}

function describeHolder(h: LockInfo): string {
  return `process ${h.pid} on ${h.host}, started ${h.started} (${h.command})`;
}

/** A fresh lock record for this process (`command`: the arguments as the user gave them). */
export function newLockInfo(): LockInfo {
  return {
    pid: process.pid,
    host: hostname(),
    started: new Date().toISOString(),
    runId: `${timeStamp()}-${randomBytes(3).toString('hex')}`,
    command: process.argv.slice(1).map((a) => (/^[\w./=:,+-]+$/.test(a) ? a : JSON.stringify(a))).join(' '),
  };
}

/**
 * Takes the lock file `dir/LOCK_FILE` for `info` (created atomically; a live holder is refused by name, a stale
 * one on this host taken over with a message). Returns its path.
 */
export function acquireLock(dir: string, out: string, info: LockInfo, log: Logger): string {
  const path = join(dir, LOCK_FILE);
  const content = JSON.stringify(info, null, 1) + '\n';
  for (let attempt = 0; attempt < 5; attempt++) {
    let created: boolean;
    try {
      created = createExclusive(path, content);
    } catch (e) {
      throw new RunFolderError(`--out ${out}: cannot write in ${dir} (${explainFsError(e)}); nothing was written`, { cause: e });
    }
    if (created) return path;
    const holder = readLock(path);
    if (holder === null) {
      throw new RunFolderError(`--out ${out}: ${path} exists but is not a readable lock; if no run is using ${out}, delete it`);
    }
    const here = hostname();
    if (holder.host === here && holder.pid !== process.pid && !pidAlive(holder.pid)) {
      // Stale: move it aside (only one taker's rename succeeds), check it was the lock we judged, then retry.
      const aside = `${path}.stale-${process.pid}`;
      try {
        renameSync(path, aside);
      } catch {
        continue;
      }
      const moved = readLock(aside);
      if (moved?.runId !== holder.runId) {
        // Someone else took the lock in between: put theirs back and report it.
        try {
          linkSync(aside, path);
        } catch {
          // a third run holds the lock now; the retry below reports it
        }
        try {
          unlinkSync(aside);
        } catch {
          // ignore
        }
        continue;
      }
      unlinkSync(aside);
      log(`taking over the stale lock of ${out}: ${describeHolder(holder)} is no longer running`);
      continue;
    }
    const how = holder.host === here ? 'wait for it to finish or stop it' : `if that run is gone, delete ${path}`;
    throw new RunFolderError(`--out ${out} is in use by another run: ${describeHolder(holder)}. To go on: ${how}, or choose another --out.`);
  }
  throw new RunFolderError(`--out ${out}: could not take the lock ${path} (contended)`);
}

// ---------------------------------------------------------------------------------------------------------------
// Leftovers and earlier runs

/** Removes `*.tmp-<pid>` files in `dir` whose writer process is gone; returns what was removed. */
export function removeStaleTemps(dir: string, log: Logger): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return removed;
  }
  for (const n of names) {
    const m = /\.tmp-(\d+)$/.exec(n);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || pidAlive(pid)) continue;
    const p = join(dir, n);
    try {
      const size = statSync(p).size;
      unlinkSync(p);
      removed.push(p);
      log(`removed ${p} (${(size / 1e6).toFixed(1)} MB), a temporary file left by process ${pid}, which is no longer running`);
    } catch {
      // raced with another cleaner, or not ours to remove
    }
  }
  return removed;
}

/** Every file a run writes in its folder (--overwrite moves them aside; the user's own files stay). */
const RUN_FILES = [
  /^checkpoint\.agave$/, /^metrics\.jsonl$/, /^curves\.svg$/, /^samples-step\d+\.png$/, /^grid-latest\.json$/, /^grid-step\d+\.json$/,
  /^(agave|pixelcnn|vae)-samples\.(png|json)$/,
];

/** What an earlier run left in a folder: its checkpoint's step (null: no checkpoint) and a description. */
export interface ExistingRun {
  /** The checkpoint's step; 'unreadable' when its header cannot be read or validated; null when there is none. */
  checkpointStep: number | 'unreadable' | null;
  /** e.g. 'checkpoint.agave at step 40 and metrics.jsonl (40 step records)'. */
  text: string;
}

/** What an earlier run left in `dir` (checkpoint, metrics, figures), or null when there is nothing. */
export function existingRun(dir: string): ExistingRun | null {
  const parts: string[] = [];
  let checkpointStep: ExistingRun['checkpointStep'] = null;
  const ck = join(dir, CHECKPOINT_FILE);
  if (existsSync(ck)) {
    let step = '';
    try {
      checkpointStep = readCheckpointStep(ck);
      step = ` at step ${checkpointStep}`;
    } catch {
      checkpointStep = 'unreadable';
      step = ' (unreadable)';
    }
    parts.push(`${CHECKPOINT_FILE}${step}`);
  }
  const m = join(dir, METRICS_FILE);
  if (existsSync(m)) {
    let n = '';
    try {
      n = ` (${readFileSync(m, 'utf8').split('\n').filter((l) => l.includes('"type":"train"')).length} step records)`;
    } catch {
      // size unknown
    }
    parts.push(`${METRICS_FILE}${n}`);
  }
  if (!parts.length) {
    const others = runFiles(dir);
    if (others.length) parts.push(`${others.length} file(s) of a run (${others.slice(0, 3).join(', ')}${others.length > 3 ? ', ...' : ''})`);
  }
  return parts.length ? { checkpointStep, text: parts.join(' and ') } : null;
}

/** What an earlier run left in `dir` (checkpoint, metrics), in words, or null when there is none. */
export function describeExistingRun(dir: string): string | null {
  return existingRun(dir)?.text ?? null;
}

function runFiles(dir: string): string[] {
  try {
    return readdirSync(dir).filter((n) => RUN_FILES.some((r) => r.test(n)));
  } catch {
    return [];
  }
}

/** A new, unused dir/replaced-<time> folder name. */
export function replacedFolder(dir: string): string {
  const base = join(dir, `replaced-${timeStamp()}`);
  let to = base;
  for (let k = 2; existsSync(to); k++) to = `${base}-${k}`;
  return to;
}

/** Moves `names` (entries of `dir`) into a new dir/replaced-<time>/ and returns that folder. */
export function moveIntoReplaced(dir: string, names: readonly string[]): string {
  const to = replacedFolder(dir);
  mkdirSync(to);
  for (const f of names) renameSync(join(dir, f), join(to, f));
  return to;
}

/** Moves an earlier run's files into dir/replaced-<time>/ and returns that folder. */
function moveAside(dir: string): { to: string; files: string[] } {
  const files = runFiles(dir);
  return { to: moveIntoReplaced(dir, files), files };
}

function pointLatest(dir: string, log: Logger): void {
  const link = join(dirname(dir), 'latest');
  const tmp = `${link}.tmp-${process.pid}`;
  try {
    symlinkSync(basename(dir), tmp, 'dir');
    renameSync(tmp, link);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // not created
    }
    log(`note: could not point ${link} at ${dir} (${explainFsError(e)}); use --out ${dir} to resume this run`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The folder

export class RunFolder {
  readonly checkpoint: string;
  readonly metrics: string;
  private released = false;
  private readonly onExit = (): void => this.release();

  constructor(
    /** The folder to write in (a `latest` link resolved). */
    readonly dir: string,
    readonly lockPath: string,
    readonly lock: LockInfo,
    /** Folders made for this run by prepareOut (removed again by abandon() while they are empty). */
    readonly created: readonly string[] = [],
  ) {
    this.checkpoint = join(dir, CHECKPOINT_FILE);
    this.metrics = join(dir, METRICS_FILE);
    process.on('exit', this.onExit);
  }

  get runId(): string {
    return this.lock.runId;
  }

  /**
   * Called once before the first step (`step` = the checkpoint's step on a resume, else 0): on a resume, the
   * metrics records after `step` (written by the interrupted run, about to be redone) are dropped, rewriting the
   * file atomically; then a `{ type: 'run' }` record marks where this run's records begin.
   */
  start(step: number, log: Logger): void {
    if (step > 0) {
      const r = truncateJsonlAfterStep(this.metrics, step);
      if (r.dropped > 0) log(`${this.metrics}: dropped ${r.dropped} records after step ${step} (to be redone from the checkpoint)`);
    }
    appendJsonl(this.metrics, { type: 'run', run: this.lock.runId, step, resumed: step > 0, pid: this.lock.pid, host: this.lock.host, started: this.lock.started });
  }

  /**
   * A start that failed before the run wrote anything: the lock is released and the folders made for it are
   * removed again (where still empty), so a typo in a flag leaves no empty run folder behind.
   */
  abandon(): void {
    this.release();
    removeCreated(this.created);
  }

  /** Removes the lock (if it is still this run's). Idempotent; also runs at process exit. */
  release(): void {
    if (this.released) return;
    this.released = true;
    process.off('exit', this.onExit);
    if (readLock(this.lockPath)?.runId === this.lock.runId) {
      try {
        unlinkSync(this.lockPath);
      } catch {
        // already gone
      }
    }
  }
}

/** Why a folder holding an earlier run is refused, and the ways out (a resume only where there is a checkpoint). */
function refusalMessage(out: string, existing: ExistingRun): string {
  const elsewhere = 'To start a new run: another --out (or no --out: a new folder under runs/).';
  const overwrite = `To start afresh in ${out}: --overwrite (the old files are moved into ${join(out, 'replaced-<time>')}/, not deleted).`;
  if (typeof existing.checkpointStep !== 'number') {
    const what = existing.checkpointStep === 'unreadable' ? `a run whose checkpoint cannot be read (${existing.text})` : `the metrics of a run that wrote no checkpoint (${existing.text}), so there is nothing to resume`;
    return `--out ${out} already holds ${what}; refusing to overwrite it. ${elsewhere} ${overwrite}`;
  }
  return `--out ${out} already holds a run (${existing.text}); refusing to overwrite it. To continue that run: --resume --out ${out}. ${elsewhere} ${overwrite}`;
}

/**
 * Opens `o.out` for one run (see the top of this file). Throws RunFolderError naming the path and the ways out.
 */
export function openRunFolder(o: { out: string; resume: boolean } & RunFolderOptions, log: Logger): RunFolder {
  if (o.resume && o.overwrite) throw new RunFolderError('--resume and --overwrite contradict each other: --resume continues the run in --out, --overwrite replaces it');
  if (o.resume && !existsSync(o.out)) {
    throw new RunFolderError(`--resume: ${o.out} does not exist: nothing to resume (give the run's folder with --out)`);
  }
  const { dir, created } = prepareOut(o.out);
  if (o.resume && !existsSync(join(dir, CHECKPOINT_FILE))) throw new RunFolderError(`--resume: no checkpoint at ${join(dir, CHECKPOINT_FILE)}`);
  const info = newLockInfo();
  let lockPath: string;
  try {
    lockPath = acquireLock(dir, o.out, info, log);
  } catch (e) {
    removeCreated(created);
    throw e;
  }
  const run = new RunFolder(dir, lockPath, info, created);
  try {
    removeStaleTemps(dir, log);
    if (!o.resume) {
      const existing = existingRun(dir);
      if (existing !== null) {
        if (!o.overwrite) throw new RunFolderError(refusalMessage(o.out, existing));
        const moved = moveAside(dir);
        log(`--overwrite: moved the previous run's ${moved.files.length} files (${existing.text}) to ${moved.to}`);
      }
      if (o.linkLatest) pointLatest(dir, log);
    }
  } catch (e) {
    run.abandon();
    throw e;
  }
  return run;
}
