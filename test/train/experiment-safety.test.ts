// `node train.js experiment` as a careless user meets it: the experiment folder goes through the same
// path as a training run's (a pseudo-filesystem or read-only --out is refused at once, with the cause), Ctrl-C
// checkpoints the current run and the same command continues it, a run is reused only when its checkpoint's
// settings and data are the ones the command asks for (otherwise the refusal names the first difference and
// the way out), results.md records a command that reproduces its table, and --overwrite moves everything aside.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { readCheckpointMeta } from '../../train/run/checkpoint-file.js';
import { bundledDataDirs, CIFAR10_RECORD_BYTES, SAMPLE_TEST_FILE, SAMPLE_TRAIN_FILE } from '../../train/data/datasets.js';
import { runExperiment } from '../../train/experiments/index.js';
import { runCli, startCli } from '../helpers/cli.js';

const TINY = ['--config', 'tiny', '--image-size', '8', '--eval-images', '8'];
const fresh = (name: string): string => mkdtempSync(join(tmpdir(), `agave-xsafe-${name}-`));
/** A JavaScript stack frame in the output (Dawn's own C++ warning lines are not ours). */
const JS_STACK = /^\s+at .*(\.m?js|\.ts|node:)/m;

async function experiment(args: string[]): Promise<{ rc: number; log: string }> {
  const lines: string[] = [];
  const rc = await runExperiment(args, (l) => lines.push(l));
  return { rc, log: lines.join('\n') };
}

/** Another CIFAR-10 data set: the first 200 train and 100 test records of the bundled sample. */
function otherCifar(): string {
  const dir = fresh('data');
  const sample = bundledDataDirs().find((d) => existsSync(join(d, SAMPLE_TRAIN_FILE)))!;
  const cut = (file: string, n: number): Buffer => Buffer.from(gunzipSync(readFileSync(join(sample, file)))).subarray(0, n * CIFAR10_RECORD_BYTES);
  writeFileSync(join(dir, 'data_batch_1.bin'), cut(SAMPLE_TRAIN_FILE, 200));
  writeFileSync(join(dir, 'test_batch.bin'), cut(SAMPLE_TEST_FILE, 100));
  return dir;
}

describe('experiment folder (refused before anything is created)', () => {
  it('--out on /proc ends at once naming /proc (no recursive mkdir spinning under /proc)', async () => {
    const r = await runCli(['experiment', 'lambda', '--config', 'tiny', '--steps', '1', '--out', '/proc/x'], { timeoutMs: 30_000 });
    expect(r.code, r.output).toBe(1);
    expect(r.output).toMatch(/train\.js experiment: --out \/proc\/x: \/proc is on the proc pseudo-filesystem/);
    expect(r.output).not.toMatch(JS_STACK);
    expect(existsSync('/proc/x')).toBe(false);
  }, 60_000);

  it('a read-only --out says EROFS (not ENOENT); a dangling symbolic link names its target', async (ctx) => {
    const tmp = fresh('erofs');
    const ro = join(tmp, 'ro');
    mkdirSync(ro);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', ro], { stdio: 'ignore' });
    } catch {
      console.warn('skipped the EROFS half: cannot mount a read-only tmpfs here (not root, or no mount permission)');
      ctx.skip();
    }
    try {
      await expect(experiment(['lambda', ...TINY, '--steps', '1', '--out', join(ro, 'x')])).rejects.toThrow(/--out .*ro\/x: cannot create the folder .*\(EROFS: read-only file system\); nothing was written/);
    } finally {
      execFileSync('umount', [ro]);
    }
  }, 60_000);

  it('--data "" is an error, not the bundled sample', async () => {
    await expect(experiment(['lambda', ...TINY, '--steps', '1', '--data', '', '--out', fresh('data-empty')])).rejects.toThrow(/--data must name a folder/);
  });
});

describe('experiment runs: Ctrl-C, continuing, reuse only with the same settings (tiny config)', () => {
  it('Ctrl-C checkpoints the current run and prints the same command; that command continues it (and restarts a run killed before its first checkpoint)', async () => {
    const out = join(fresh('sigint'), 'X');
    const args = ['experiment', 'lambda', ...TINY, '--steps', '6', '--out', out];
    const run = await startCli(args);
    await run.waitFor(/\[lambda-2\] step 1\/6/);
    run.child.kill('SIGINT');
    const r = await run.exit;
    expect(r.code, r.output).toBe(130);
    expect(r.output).toMatch(/\[lambda-2\] SIGINT received: stopped after step \d; checkpoint .* written/);
    expect(r.output).not.toMatch(JS_STACK);
    const cmd = /to continue: node train\.js (.*)$/m.exec(r.output);
    expect(cmd, r.output).not.toBeNull();
    expect(cmd![1]).toBe(args.join(' '));
    expect(existsSync(join(out, 'lambda-4')), 'nothing after the interrupted run started').toBe(false);
    // What a second Ctrl-C (or kill -9) before a run's first checkpoint leaves: metrics, no checkpoint.
    mkdirSync(join(out, 'lambda-4'));
    writeFileSync(join(out, 'lambda-4', 'metrics.jsonl'), '{"type":"run","step":0}\n{"type":"train","step":1,"loss":5}\n');
    const again = await runCli(args);
    expect(again.code, again.output).toBe(0);
    expect(again.output).toMatch(/\[lambda-1\] already trained to step 6/);
    expect(again.output).toMatch(/\[lambda-2\] resumed from .* at step [1-5]\b/);
    expect(again.output).toMatch(/\[lambda-4\] stopped before its first checkpoint: starting it again \(its files moved to .*replaced-/);
    expect(readFileSync(join(out, 'results.md'), 'utf8')).toContain('| lambda 12 | 6 |');
  }, 600_000);

  it('a run is reused only with the same settings and data: other config, eval images, fewer steps, other data or another experiment are refused naming the difference; results.md\'s command reproduces it; --overwrite starts afresh', async () => {
    const out = fresh('mixed');
    const first = await experiment(['lambda', ...TINY, '--steps', '2', '--out', out]);
    expect(first.rc).toBe(0);
    expect(first.log, 'the banner names the config really used').toMatch(/preset quick: tiny config \(8x8 images; PixelCNN\+\+ F=16 R=1 M=2/);
    expect(first.log).not.toMatch(/small config/);
    const md = readFileSync(join(out, 'results.md'), 'utf8');
    const checkpoints = () => readdirSync(out).filter((d) => d.startsWith('lambda-')).map((d) => readFileSync(join(out, d, 'checkpoint.agave')).toString('base64'));
    const before = checkpoints();
    const record = readFileSync(join(out, 'experiment.json'), 'utf8');
    expect(JSON.parse(record)).toMatchObject({ experiment: 'lambda', preset: 'quick' });
    // Each run's table row names the config it really used.
    expect(md).toMatch(/\| lambda 12 \| agave \| tiny \| 8x8 \|/);
    // The recorded command reproduces the table: every run is reused, the table is the same.
    const cmd = /^Command: `node train\.js (.*)`$/m.exec(md);
    expect(cmd, md).not.toBeNull();
    const words = cmd![1]!.split(' ');
    expect(words.slice(0, 2)).toEqual(['experiment', 'lambda']);
    for (const w of ['--config tiny', '--image-size 8', '--eval-images 8', '--steps 2']) expect(cmd![1]).toContain(w);
    const again = await experiment(words.slice(1));
    expect(again.log.match(/already trained to step 2/g)).toHaveLength(5);
    // The results, without the wall-time column (a reused run says '(earlier)').
    const table = (s: string): string =>
      s.slice(s.indexOf('## Results'), s.indexOf('Wall time of this invocation')).split('\n').map((l) => l.replace(/ [^|]+ \|$/, '')).join('\n');
    expect(table(readFileSync(join(out, 'results.md'), 'utf8'))).toBe(table(md));

    const other = otherCifar();
    const refusals: [string[], RegExp][] = [
      [['lambda', '--steps', '2', '--out', out], /lambda-1 .* other settings: config is "tiny" there and "small" in this command/],
      [['lambda', '--preset', 'quick', '--config', 'small', '--image-size', '8', '--eval-images', '8', '--steps', '2', '--out', out], /config is "tiny" there and "small"/],
      [['lambda', ...TINY, '--steps', '2', '--data', other, '--out', out], /lambda-1 was trained on other data: .*sha256.*; this command's data/],
      [['lambda', '--config', 'tiny', '--image-size', '8', '--eval-images', '16', '--steps', '2', '--out', out], /lambda-1 .*evaluated on 8 test images; this command asks for 16 \(--eval-images\)/],
      [['lambda', ...TINY, '--steps', '1', '--out', out], /lambda-1 is trained to step 2; this command asks for 1 step/],
      [['levels', ...TINY, '--steps', '2', '--out', out], /holds the experiment 'lambda', not 'levels'/],
    ];
    for (const [args, re] of refusals) {
      const p = experiment(args);
      await expect(p, args.join(' ')).rejects.toThrow(re);
      await expect(p, args.join(' ')).rejects.toThrow(/another --out|--overwrite/);
    }
    expect(checkpoints(), 'refusals change nothing').toEqual(before);
    expect(readFileSync(join(out, 'experiment.json'), 'utf8'), 'refusals change nothing').toBe(record);
    expect(table(readFileSync(join(out, 'results.md'), 'utf8'))).toBe(table(md));

    // --overwrite: the earlier experiment is moved aside whole, and this one trains afresh.
    const fresh1 = await experiment(['lambda', ...TINY, '--steps', '1', '--out', out, '--overwrite']);
    expect(fresh1.log).toMatch(/--overwrite: moved the earlier experiment's \d+ entries to .*replaced-/);
    const aside = readdirSync(out).find((f) => f.startsWith('replaced-'))!;
    expect(table(readFileSync(join(out, aside, 'results.md'), 'utf8'))).toBe(table(md));
    expect(readCheckpointMeta<{ step: number }>(join(out, aside, 'lambda-4', 'checkpoint.agave')).step).toBe(2);
    expect(readCheckpointMeta<{ step: number }>(join(out, 'lambda-4', 'checkpoint.agave')).step).toBe(1);
    rmSync(other, { recursive: true, force: true });
  }, 600_000);
});
