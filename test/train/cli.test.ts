// The CLI as a user meets it, run as a child process on the tiny config: Ctrl-C / SIGTERM stop
// gracefully (the step finished, a checkpoint written, how to continue printed, exit 130 / 143) and a second
// signal exits at once with the last checkpoint intact; the printed continue command resumes the run; bad
// --out folders are refused before anything is created; flag errors name the flag; --check-gpu without an
// adapter prints the install hint without a stack trace.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../../train/run/checkpoint-file.js';
import { REPO, runCli, startCli } from '../helpers/cli.js';

const TINY = ['--config', 'tiny', '--batch', '4', '--eval-images', '8', '--eval-every', '1000', '--log-every', '1'];
/** A JavaScript stack frame in the output (Dawn's own C++ warning lines are not ours). */
const JS_STACK = /^\s+at .*(\.m?js|\.ts|node:)/m;

function trainRecords(dir: string): { type: string; step?: number }[] {
  return readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; step?: number });
}

describe('CLI signals', () => {
  it('SIGINT after the first step: finishes the step, writes a checkpoint, prints how to continue, exits 130; the printed command resumes', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'agave-sigint-')), 'run');
    const args = [...TINY, '--steps', '200', '--checkpoint-every', '1000', '--out', dir];
    const run = await startCli(args);
    await run.waitFor(/step +1\/200/);
    run.child.kill('SIGINT');
    const r = await run.exit;
    expect(r.code, r.output).toBe(130);
    expect(r.output).toMatch(/SIGINT: finishing the current step, then writing a checkpoint/);
    const m = /stopped after step (\d+); checkpoint (\S+) written/.exec(r.output);
    expect(m, r.output).not.toBeNull();
    const k = Number(m![1]);
    expect(k).toBeGreaterThanOrEqual(1);
    expect(k).toBeLessThan(200);
    // Checkpoint-every is 1000: this checkpoint exists only because of the signal.
    const ck = loadCheckpoint<{ step: number }>(join(dir, 'checkpoint.agave'));
    expect(ck.meta.step).toBe(k);
    expect(trainRecords(dir).filter((l) => l.type === 'train').map((l) => l.step)).toEqual(Array.from({ length: k }, (_, i) => i + 1));
    expect(existsSync(join(dir, 'run.lock')), 'the lock is released').toBe(false);
    expect(r.output).not.toMatch(JS_STACK);
    // The printed command continues the run (here to one more step).
    const cmd = /to continue: node train\.js (.*)$/m.exec(r.output);
    expect(cmd, r.output).not.toBeNull();
    const cont = cmd![1]!.split(' ');
    expect(cont.slice(-3)).toEqual(['--resume', '--out', dir]);
    cont[cont.indexOf('--steps') + 1] = String(k + 1);
    const again = await runCli(cont);
    expect(again.code, again.output).toBe(0);
    expect(again.output).toMatch(new RegExp(`resumed from .* at step ${k}`));
    expect(again.output).toMatch(new RegExp(`done: ${k + 1} steps`));
    expect(trainRecords(dir).filter((l) => l.type === 'train').map((l) => l.step)).toEqual(Array.from({ length: k + 1 }, (_, i) => i + 1));
  }, 300_000);

  it('a second SIGTERM exits at once with 143; the last checkpoint is intact and no temporary file or lock is left', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'agave-sigterm-')), 'run');
    const run = await startCli([...TINY, '--steps', '200', '--checkpoint-every', '1', '--out', dir]);
    await run.waitFor(/step +2\/200/);
    run.child.kill('SIGTERM');
    await run.waitFor(/SIGTERM: finishing the current step/);
    run.child.kill('SIGTERM');
    const r = await run.exit;
    expect(r.code, r.output).toBe(143);
    expect(r.output).toMatch(/SIGTERM again: exiting now without a new checkpoint; the last checkpoint written is intact/);
    // The second signal may land while step 2's checkpoint is being read back from the GPU (before the
    // synchronous write): the checkpoint is then step 1's, complete.
    const ck = loadCheckpoint<{ step: number }>(join(dir, 'checkpoint.agave'));
    expect(ck.meta.step).toBeGreaterThanOrEqual(1);
    expect(trainRecords(dir).filter((l) => l.type === 'train').length).toBeGreaterThanOrEqual(ck.meta.step);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-') || f === 'run.lock')).toEqual([]);
  }, 300_000);
});

describe('CLI refusals (nothing created, no GPU needed)', () => {
  it('--out on a pseudo-filesystem, a file, or a path through a file is refused before any mkdir', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'agave-out-'));
    const file = join(tmp, 'file');
    writeFileSync(file, 'x');
    const cases: [string, RegExp][] = [
      ['/proc/x', /--out \/proc\/x: \/proc is on the proc pseudo-filesystem/],
      ['/sys/agave/run', /--out \/sys\/agave\/run: \/sys is on the sysfs pseudo-filesystem/],
      [file, /is a file, not a folder/],
      [join(file, 'run'), new RegExp(`${file} is a file, not a folder`)],
    ];
    for (const [out, re] of cases) {
      const t0 = performance.now();
      const r = await runCli(['--config', 'tiny', '--steps', '1', '--out', out]);
      expect(r.code, `${out}: ${r.output}`).toBe(1);
      expect(r.output, out).toMatch(re);
      expect(r.output, out).not.toMatch(JS_STACK);
      expect(performance.now() - t0, `${out} is refused at once`).toBeLessThan(20_000);
    }
    expect(existsSync('/proc/x') || existsSync('/sys/agave')).toBe(false);
  }, 120_000);

  it('an unwritable parent is reported as EACCES with the path (not ENOENT), and nothing is written', async (ctx) => {
    // root ignores permission bits, so the CLI runs as nobody then; that needs a repository nobody can read
    // (not one inside a private folder such as /root or a mode-700 temp folder).
    if (process.getuid?.() === 0) {
      const probe = await runCli(['--help'], { uid: 65534, gid: 65534 });
      if (probe.code !== 0) {
        console.warn(`skipped: user nobody cannot run the CLI from ${REPO} (a parent folder is private); .ci/run makes its clone readable`);
        ctx.skip();
      }
    }
    const tmp = mkdtempSync(join(tmpdir(), 'agave-eacces-'));
    chmodSync(tmp, 0o755);
    const ro = join(tmp, 'ro');
    mkdirSync(ro, { mode: 0o555 });
    chmodSync(ro, 0o555);
    // root ignores permission bits: run the CLI as nobody then.
    const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const r = await runCli(['--config', 'tiny', '--steps', '1', '--out', join(ro, 'run')], asNobody);
    expect(r.code, r.output).toBe(1);
    expect(r.output).toMatch(new RegExp(`cannot create the folder ${join(ro, 'run')} \\(EACCES: permission denied\\); nothing was written`));
    expect(r.output).not.toMatch(/ENOENT/);
    expect(readdirSync(ro)).toEqual([]);
  }, 60_000);

  it('flag errors name the flag: negative values in both forms, hex, non-finite, out of range', async () => {
    const cases: [string[], RegExp][] = [
      [['--steps', '-1'], /train\.js: --steps must be an integer >= 1, got '-1'/],
      [['--steps=-1'], /train\.js: --steps must be an integer >= 1, got '-1'/],
      [['--steps', '0x10'], /--steps must be an integer >= 1 \(decimal digits\), got '0x10'/],
      [['--lr', '0'], /--lr must be a number > 0, got '0'/],
      [['--lr', '-1'], /--lr must be a number > 0, got '-1'/],
      [['--lr', '1e39'], /--lr must be a number > 0 and <= 3\.4e38 \(the largest float32\), got '1e39'/],
    ];
    for (const [args, re] of cases) {
      const r = await runCli(['--config', 'tiny', ...args]);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.output, args.join(' ')).toMatch(re);
      expect(r.output).not.toMatch(/ambiguous/);
    }
  }, 120_000);

  it('--check-gpu without an adapter prints the install hint without a stack trace', async () => {
    const r = await runCli(['--check-gpu'], { env: { VK_ICD_FILENAMES: '/nonexistent/icd.json', VK_DRIVER_FILES: '/nonexistent/icd.json' } });
    expect(r.code, r.output).toBe(1);
    expect(r.output).toMatch(/train\.js: No WebGPU adapter was found\.\n\s+- On a machine with a GPU/);
    expect(r.output).toMatch(/mesa-vulkan-drivers/);
    expect(r.output).not.toMatch(JS_STACK);
  }, 60_000);
});
