// One run per folder (train/run/folder.ts), first without a GPU: the lock (a live holder refused by name, also a
// live one of another user, whose probe fails with EPERM; a stale one taken over, another host's refused with how
// to clear it), stale temporary files of dead writers removed, a folder with an earlier run refused without
// --resume and moved aside with --overwrite, runs/latest, metrics trimmed to the checkpoint's step,
// finite-verified checkpoint writes, ENOSPC/EROFS/EACCES messages, the graceful-stop handler. Then through train()
// on the tiny config: forgetting --resume, two runs on one folder, a resume after a kill, a resume on other data,
// nothing to do, the time-limit summary.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it, vi } from 'vitest';
import { loadCheckpoint, readCheckpointMeta, saveCheckpoint, NonFiniteCheckpointError } from '../../train/run/checkpoint-file.js';
import { explainFsError } from '../../train/common/fs-errors.js';
import { appendJsonl, truncateJsonlAfterStep } from '../../train/run/metrics.js';
import { newRunFolder, openRunFolder, removeStaleTemps, timeStamp, type LockInfo } from '../../train/run/folder.js';
import { continueCommand, installGracefulStop } from '../../train/run/signals.js';
import { train, type TrainOptions } from '../../train/trainer.js';
import { bundledDataDirs, SAMPLE_TEST_FILE, SAMPLE_TRAIN_FILE } from '../../train/data/datasets.js';
import { tinyRunOptions } from '../helpers/tiny-run.js';

const quiet = (): void => {};
const fresh = (name: string): string => mkdtempSync(join(tmpdir(), `agave-${name}-`));

/** A pid that is certainly not running: a child that has exited (and been reaped). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '0']);
  return r.pid!;
}

function lockOf(pid: number, host = hostname()): LockInfo {
  return { pid, host, started: '2020-01-01T00:00:00.000Z', runId: `old-${pid}`, command: 'train.js --old' };
}

function records(dir: string): { type: string; step?: number }[] {
  return readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; step?: number });
}

function fakeRun(dir: string, step: number): void {
  saveCheckpoint(join(dir, 'checkpoint.agave'), { meta: { step }, arrays: { params: new Float32Array([1, 2]) } });
  for (let s = 1; s <= step; s++) appendJsonl(join(dir, 'metrics.jsonl'), { type: 'train', step: s });
}

describe('run folder (no GPU)', () => {
  it('the lock: a live holder is refused by name, a stale one (dead pid) taken over, another host refused with how to clear it', () => {
    const dir = fresh('lock');
    const a = openRunFolder({ out: dir, resume: false }, quiet);
    const held = JSON.parse(readFileSync(join(dir, 'run.lock'), 'utf8')) as LockInfo;
    expect([held.pid, held.host]).toEqual([process.pid, hostname()]);
    expect(held.started).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(() => openRunFolder({ out: dir, resume: false }, quiet)).toThrow(new RegExp(`--out ${dir} is in use by another run: process ${process.pid} on ${hostname()}, started ${held.started}`));
    a.release();
    expect(existsSync(join(dir, 'run.lock'))).toBe(false);

    const pid = deadPid();
    writeFileSync(join(dir, 'run.lock'), JSON.stringify(lockOf(pid)));
    const lines: string[] = [];
    const b = openRunFolder({ out: dir, resume: false }, (l) => lines.push(l));
    expect(lines.join('\n')).toMatch(new RegExp(`taking over the stale lock of ${dir}: process ${pid} on ${hostname()}, started 2020-01-01T00:00:00.000Z \\(train.js --old\\) is no longer running`));
    expect((JSON.parse(readFileSync(join(dir, 'run.lock'), 'utf8')) as LockInfo).pid).toBe(process.pid);
    b.release();

    writeFileSync(join(dir, 'run.lock'), JSON.stringify(lockOf(pid, 'elsewhere.example')));
    expect(() => openRunFolder({ out: dir, resume: false }, quiet)).toThrow(new RegExp(`in use by another run: process ${pid} on elsewhere\\.example.*if that run is gone, delete ${join(dir, 'run.lock')}`));
    // A live process on this host (our parent) holds it: refused, lock untouched.
    writeFileSync(join(dir, 'run.lock'), JSON.stringify(lockOf(process.ppid)));
    expect(() => openRunFolder({ out: dir, resume: false }, quiet)).toThrow(new RegExp(`process ${process.ppid} on ${hostname()}.*wait for it to finish or stop it, or choose another --out`));
    expect((JSON.parse(readFileSync(join(dir, 'run.lock'), 'utf8')) as LockInfo).pid).toBe(process.ppid);
  });

  it("a live holder of another user (kill(pid, 0) fails with EPERM: alive, not ours to signal) is refused, not taken over; its temporary files are kept", () => {
    // Tests run as root, where kill(pid, 0) never fails with EPERM: process.kill is stubbed to answer as the
    // kernel does for a live process of another user. The pid is really dead, so without the stub (and with a
    // pidAlive that took EPERM for dead) the lock would be taken over and the temp file removed.
    const dir = fresh('eperm');
    const pid = deadPid();
    writeFileSync(join(dir, 'run.lock'), JSON.stringify(lockOf(pid)));
    writeFileSync(join(dir, `checkpoint.agave.tmp-${pid}`), 'being written by the other user');
    const realKill = process.kill.bind(process);
    const kill = vi.spyOn(process, 'kill').mockImplementation((target: number, signal?: string | number) => {
      if (target === pid) throw Object.assign(new Error(`kill EPERM`), { code: 'EPERM', errno: -1, syscall: 'kill' });
      return realKill(target, signal);
    });
    try {
      expect(() => openRunFolder({ out: dir, resume: false }, quiet)).toThrow(new RegExp(`--out ${dir} is in use by another run: process ${pid} on ${hostname()}.*wait for it to finish or stop it, or choose another --out`));
      expect(kill.mock.calls.filter(([p]) => p === pid), 'the holder was probed with signal 0').toContainEqual([pid, 0]);
      expect((JSON.parse(readFileSync(join(dir, 'run.lock'), 'utf8')) as LockInfo).pid, 'the lock is untouched').toBe(pid);
      const lines: string[] = [];
      expect(removeStaleTemps(dir, (l) => lines.push(l)), 'temporary files of a live writer are kept').toEqual([]);
      expect(existsSync(join(dir, `checkpoint.agave.tmp-${pid}`))).toBe(true);
    } finally {
      kill.mockRestore();
    }
    // The same folder once that process is gone (the real kill: ESRCH): its temp file is removed, the lock taken over.
    expect(removeStaleTemps(dir, quiet)).toEqual([join(dir, `checkpoint.agave.tmp-${pid}`)]);
    const lines: string[] = [];
    openRunFolder({ out: dir, resume: false }, (l) => lines.push(l)).release();
    expect(lines.join('\n')).toMatch(new RegExp(`taking over the stale lock of ${dir}: process ${pid}`));
  });

  it('removes temporary files of dead writers at start and keeps those of live ones', () => {
    const dir = fresh('temps');
    const pid = deadPid();
    writeFileSync(join(dir, `checkpoint.agave.tmp-${pid}`), Buffer.alloc(1000));
    writeFileSync(join(dir, `samples-step000004.png.tmp-${pid}`), 'x');
    writeFileSync(join(dir, `checkpoint.agave.tmp-${process.ppid}`), 'live writer');
    const lines: string[] = [];
    openRunFolder({ out: dir, resume: false }, (l) => lines.push(l)).release();
    expect(readdirSync(dir).sort()).toEqual([`checkpoint.agave.tmp-${process.ppid}`]);
    expect(lines.join('\n')).toMatch(new RegExp(`removed .*checkpoint\\.agave\\.tmp-${pid} \\(0\\.0 MB\\), a temporary file left by process ${pid}, which is no longer running`));
  });

  it('a folder holding a run is refused without --resume (naming --resume, another --out, --overwrite); --overwrite moves it aside', () => {
    const dir = fresh('owned');
    fakeRun(dir, 4);
    writeFileSync(join(dir, 'samples-step000004.png'), 'png');
    expect(() => openRunFolder({ out: dir, resume: false }, quiet)).toThrow(
      /already holds a run \(checkpoint\.agave at step 4 and metrics\.jsonl \(4 step records\)\); refusing to overwrite it\. To continue that run: --resume --out .*another --out.*--overwrite \(the old files are moved into .*replaced-<time>\/, not deleted\)/,
    );
    expect(existsSync(join(dir, 'run.lock')), 'a refused run leaves no lock').toBe(false);
    expect(() => openRunFolder({ out: dir, resume: true, overwrite: true }, quiet)).toThrow(/--resume and --overwrite contradict/);
    const lines: string[] = [];
    openRunFolder({ out: dir, resume: false, overwrite: true }, (l) => lines.push(l)).release();
    const aside = readdirSync(dir).filter((f) => f.startsWith('replaced-'));
    expect(aside).toHaveLength(1);
    expect(readdirSync(join(dir, aside[0]!)).sort()).toEqual(['checkpoint.agave', 'metrics.jsonl', 'samples-step000004.png']);
    expect(readCheckpointMeta<{ step: number }>(join(dir, aside[0]!, 'checkpoint.agave')).step).toBe(4);
    expect(readdirSync(dir).filter((f) => !f.startsWith('replaced-'))).toEqual([]);
    expect(lines.join('\n')).toMatch(/--overwrite: moved the previous run's 3 files .* to .*replaced-\d{8}-\d{6}/);
    // Resume needs a folder and a checkpoint.
    expect(() => openRunFolder({ out: join(dir, 'nope'), resume: true }, quiet)).toThrow(/--resume: .*nope does not exist: nothing to resume/);
    expect(() => openRunFolder({ out: dir, resume: true }, quiet)).toThrow(/--resume: no checkpoint at .*checkpoint\.agave/);
  });

  it('default runs: a new runs/<time> folder per run, runs/latest pointing at it, --resume of runs/latest resolves it', () => {
    const root = join(fresh('runs'), 'runs');
    const when = new Date(2025, 0, 31, 14, 25, 1);
    expect(timeStamp(when)).toBe('20250131-142501');
    const first = newRunFolder(root, when);
    expect(first).toBe(join(root, '20250131-142501'));
    const a = openRunFolder({ out: first, resume: false, linkLatest: true }, quiet);
    a.release();
    expect(newRunFolder(root, when), 'a second run in the same second gets its own folder').toBe(`${first}-2`);
    expect(lstatSync(join(root, 'latest')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(root, 'latest'))).toBe('20250131-142501');
    fakeRun(first, 2);
    const b = openRunFolder({ out: join(root, 'latest'), resume: true }, quiet);
    expect(b.dir).toBe(first);
    expect(b.checkpoint).toBe(join(first, 'checkpoint.agave'));
    b.release();
  });

  it('on resume, metrics keep only the records up to the checkpoint step (atomic rewrite), and a run record marks each run', () => {
    const dir = fresh('trim');
    fakeRun(dir, 5);
    appendJsonl(join(dir, 'metrics.jsonl'), { type: 'eval', step: 5 });
    for (const s of [6, 7]) appendJsonl(join(dir, 'metrics.jsonl'), { type: 'train', step: s });
    writeFileSync(join(dir, 'metrics.jsonl'), readFileSync(join(dir, 'metrics.jsonl'), 'utf8') + '{"type":"train","st'); // cut off by a kill
    const lines: string[] = [];
    const run = openRunFolder({ out: dir, resume: true }, (l) => lines.push(l));
    run.start(5, (l) => lines.push(l));
    run.release();
    const r = records(dir);
    expect(r.map((x) => `${x.type}${x.step ?? ''}`)).toEqual(['train1', 'train2', 'train3', 'train4', 'train5', 'eval5', 'run5']);
    expect(r.at(-1)).toMatchObject({ type: 'run', resumed: true, pid: process.pid });
    expect(lines.join('\n')).toMatch(/metrics\.jsonl: dropped 3 records after step 5/);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    expect(truncateJsonlAfterStep(join(dir, 'nothing.jsonl'), 3)).toEqual({ dropped: 0, kept: 0 });
  });

  it('checkpoints are verified finite before they are written; the header is readable without the arrays', () => {
    const dir = fresh('finite');
    const p = join(dir, 'c.agave');
    saveCheckpoint(p, { meta: { step: 1 }, arrays: { params: new Float32Array([1, 2, 3]) } }, { requireFinite: true });
    const before = readFileSync(p);
    const bad = new Float32Array([1, 2, 3, 4]);
    bad[2] = Infinity;
    expect(() => saveCheckpoint(p, { meta: { step: 2 }, arrays: { params: new Float32Array(2), ema: bad } }, { requireFinite: true }))
      .toThrow(NonFiniteCheckpointError);
    expect(() => saveCheckpoint(p, { meta: { step: 2 }, arrays: { ema: bad } }, { requireFinite: true }))
      .toThrow(/not writing .*c\.agave: array 'ema' holds Infinity at element 2; the previous checkpoint at .* is kept unchanged/);
    expect(readFileSync(p).equals(before)).toBe(true);
    expect(readdirSync(dir)).toEqual(['c.agave']);
    expect(readCheckpointMeta<{ step: number }>(p).step).toBe(1);
  });

  it('filesystem errors name the code, its meaning, the path and what was kept', () => {
    expect(explainFsError(Object.assign(new Error('x'), { code: 'EROFS' }))).toBe('EROFS: read-only file system');
    expect(explainFsError(Object.assign(new Error('x'), { code: 'EACCES' }))).toBe('EACCES: permission denied');
    expect(explainFsError(Object.assign(new Error('x'), { code: 'ENOSPC' }))).toBe('ENOSPC: no space left on device');
    if (existsSync('/dev/full')) {
      // A real full device: the metrics append reports ENOSPC with the path.
      expect(() => appendJsonl('/dev/full', { step: 1 })).toThrow(/could not append to \/dev\/full \(ENOSPC: no space left on device\); the records written before are kept/);
    }
  });

  it('graceful stop: the first signal sets the flag, a second exits at once with 130 (SIGINT) / 143 (SIGTERM); the continue command', () => {
    const exits: number[] = [];
    const lines: string[] = [];
    const stop = installGracefulStop((l) => lines.push(l), (c) => exits.push(c), ['SIGUSR2']);
    try {
      expect(stop.requested).toBe(false);
      process.emit('SIGUSR2', 'SIGUSR2');
      expect([stop.requested, stop.signal, exits]).toEqual([true, 'SIGUSR2', []]);
      process.emit('SIGUSR2', 'SIGUSR2');
      expect(exits).toEqual([130]);
    } finally {
      stop.dispose();
    }
    expect(lines.join('\n')).toMatch(/finishing the current step, then writing a checkpoint[\s\S]*again: exiting now/);
    const term = installGracefulStop(quiet, (c) => exits.push(c), ['SIGUSR2']);
    term.requested = true;
    term.signal = 'SIGTERM';
    process.emit('SIGUSR2', 'SIGTERM');
    term.dispose();
    expect(exits).toEqual([130, 143]);
    expect(continueCommand(['--config', 'tiny', '--overwrite', '--out', 'a b', '--steps', '9'], 'runs/x')).toBe("node train.js --config tiny --steps 9 --resume --out runs/x");
    expect(continueCommand(['--out=r', '--resume', '--lr', '0.01'], 'my run')).toBe("node train.js --lr 0.01 --resume --out 'my run'");
  });
});

const opts = (out: string, extra: Partial<TrainOptions> = {}): TrainOptions => tinyRunOptions(out, { lambda: 2, steps: 2, lr: 0.002, seed: 5, ...extra });

describe('run folder through train() (tiny config)', () => {
  it('forgetting --resume is refused and the run is untouched; --overwrite keeps the old run aside', async () => {
    const dir = fresh('forget');
    await train(opts(dir, { steps: 2 }), quiet);
    const ck = readFileSync(join(dir, 'checkpoint.agave'));
    const metrics = readFileSync(join(dir, 'metrics.jsonl'), 'utf8');
    await expect(train(opts(dir, { steps: 1 }), quiet)).rejects.toThrow(/already holds a run \(checkpoint\.agave at step 2 .*--resume.*another --out.*--overwrite/);
    expect(readFileSync(join(dir, 'checkpoint.agave')).equals(ck), 'the step-2 checkpoint is unchanged').toBe(true);
    expect(readFileSync(join(dir, 'metrics.jsonl'), 'utf8')).toBe(metrics);
    await train(opts(dir, { steps: 1, overwrite: true }), quiet);
    const aside = readdirSync(dir).find((f) => f.startsWith('replaced-'))!;
    expect(readFileSync(join(dir, aside, 'checkpoint.agave')).equals(ck), 'the old checkpoint is kept, moved aside').toBe(true);
    expect(loadCheckpoint<{ step: number }>(join(dir, 'checkpoint.agave')).meta.step).toBe(1);
    expect(records(dir).filter((r) => r.type !== 'run').map((r) => `${r.type}${r.step}`)).toEqual(['train1', 'eval1']);
  }, 300_000);

  it('two runs on one folder: the second is refused naming the first; the first finishes', async () => {
    const dir = fresh('two');
    const first = train(opts(dir, { steps: 2 }), quiet);
    await expect(train(opts(dir, { steps: 2 }), quiet)).rejects.toThrow(new RegExp(`is in use by another run: process ${process.pid} on ${hostname()}`));
    const r = await first;
    expect(r.steps.map((s) => s.step)).toEqual([1, 2]);
    expect(records(dir).filter((x) => x.type === 'run')).toHaveLength(1);
    expect(existsSync(join(dir, 'run.lock'))).toBe(false);
  }, 300_000);

  it('a resume after a kill: takes over the stale lock, removes the dead writer\'s temp file, trims metrics to the checkpoint; --steps at or below the checkpoint has nothing to do', async () => {
    const dir = fresh('killed');
    await train(opts(dir, { steps: 2 }), quiet);
    // What kill -9 during step 4 of the same run would have left: records past the checkpoint, a temp file, the lock.
    for (const s of [3, 4]) appendJsonl(join(dir, 'metrics.jsonl'), { type: 'train', step: s, loss: 1 });
    const pid = deadPid();
    writeFileSync(join(dir, `checkpoint.agave.tmp-${pid}`), Buffer.alloc(4096));
    writeFileSync(join(dir, 'run.lock'), JSON.stringify(lockOf(pid)));
    const lines: string[] = [];
    const r = await train(opts(dir, { steps: 3, resume: true }), (l) => lines.push(l));
    const text = lines.join('\n');
    expect(text).toMatch(/taking over the stale lock/);
    expect(text).toMatch(new RegExp(`removed .*checkpoint\\.agave\\.tmp-${pid}`));
    expect(text).toMatch(/dropped 2 records after step 2/);
    expect(r.steps.map((s) => s.step)).toEqual([3]);
    expect(records(dir).filter((x) => x.type === 'train').map((x) => x.step), 'no duplicate steps').toEqual([1, 2, 3]);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-') || f === 'run.lock')).toEqual([]);
    // Nothing to do: the checkpoint is at step 3.
    for (const steps of [3, 2]) {
      const said: string[] = [];
      const n = await train(opts(dir, { steps, resume: true }), (l) => said.push(l));
      expect(n.steps).toEqual([]);
      expect(said.join('\n')).toMatch(new RegExp(`nothing to do: .*checkpoint\\.agave is at step 3 and --steps is ${steps}.*give --steps larger than 3`));
      expect(said.join('\n')).not.toMatch(/done:/);
    }
    expect(loadCheckpoint<{ step: number }>(join(dir, 'checkpoint.agave')).meta.step).toBe(3);
  }, 300_000);

  it('the data set is part of the run: a resume on other data is refused naming both; the same data from another folder is accepted', async () => {
    const dir = fresh('data');
    await train(opts(dir, { steps: 1 }), quiet);
    const fingerprint = loadCheckpoint<{ data: { format: string; train: number; sha256: string } }>(join(dir, 'checkpoint.agave')).meta.data;
    expect(fingerprint).toMatchObject({ format: 'cifar10', train: 2000, test: 500, shape: [32, 32, 3] });
    expect(fingerprint.sha256).toMatch(/^[0-9a-f]{64}$/);
    const sample = bundledDataDirs().find((d) => existsSync(join(d, SAMPLE_TRAIN_FILE)))!;
    // Other data: the same files with one pixel changed.
    const other = fresh('other-data');
    const bytes = Buffer.from(gunzipSync(readFileSync(join(sample, SAMPLE_TRAIN_FILE))));
    bytes[1 + 100] = (bytes[1 + 100]! + 1) % 256;
    writeFileSync(join(other, 'data_batch_1.bin'), bytes);
    copyFileSync(join(sample, SAMPLE_TEST_FILE), join(other, 'test_batch.bin.gz'));
    await expect(train(opts(dir, { steps: 2, resume: true, data: other }), quiet)).rejects.toThrow(
      /--resume: .*checkpoint\.agave was trained on other data: checkpoint cifar10, 2000 train \/ 500 test 32x32x3, sha256 [0-9a-f]{12} \(.*cifar10-sample-train\.bin\.gz\); now cifar10, 2000 train \/ 500 test 32x32x3, sha256 [0-9a-f]{12} \(.*data_batch_1\.bin\)/,
    );
    // The same records, uncompressed, in another folder: the same data set.
    const same = fresh('same-data');
    writeFileSync(join(same, 'data_batch_1.bin'), gunzipSync(readFileSync(join(sample, SAMPLE_TRAIN_FILE))));
    copyFileSync(join(sample, SAMPLE_TEST_FILE), join(same, 'test_batch.bin.gz'));
    const r = await train(opts(dir, { steps: 2, resume: true, data: same }), quiet);
    expect(r.steps.map((s) => s.step)).toEqual([2]);
  }, 300_000);

  it('time limit: the summary counts the steps done', async () => {
    const dir = fresh('time');
    const lines: string[] = [];
    const r = await train(opts(dir, { steps: 50, timeLimitMinutes: 0.0001 }), (l) => lines.push(l));
    expect(r.stoppedEarly).toBe('time');
    const text = lines.join('\n');
    expect(text).toMatch(/time limit of 0.0001 min reached at step 1; checkpoint saved/);
    expect(text).toMatch(/done: 1 steps/);
  }, 300_000);
});
