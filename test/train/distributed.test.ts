// Data-parallel training (`--distributed mpi`, train/distributed/). Without MPI: the flags, the launcher and
// rank-change checks, GPU selection from a fake sysfs, the state checksum, and `--distributed mpi` outside
// mpirun. With Open MPI's mpirun and koffi installed (CI installs both; elsewhere these tests are skipped,
// naming what is missing): `mpirun -np 2` trains the tiny config for 20 steps and its per-step losses and
// final parameters equal one process with the doubled batch and the same data order (within float32
// summation: per-step terms relative 1e-5; parameters and EMA relative L2 1e-5 and at most 1 element in 10,000
// more than 1e-5 apart (expectSameState); measured: 2e-8, none); a Ctrl-C on
// mpirun stops both ranks with a checkpoint and --resume continues them exactly (as one process would); a
// `kill -9` of rank 1 ends the job in under 30 s with the checkpoint intact; a stopped (hung) rank 1 ends the
// job at the collective timeout with a message naming it.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseOptions } from '../../train/options.js';
import type { TrainOptions } from '../../train/trainer.js';
import { launcherOf, libmpiCandidates, Mpi, NO_LAUNCHER } from '../../train/distributed/mpi.js';
import { stateChecksum } from '../../train/distributed/data-parallel.js';
import { rankChangeAllowed } from '../../train/distributed/rescale.js';
import { displayDevices, driPrimeOf, selectGpu } from '../../train/distributed/gpu-select.js';
import { loadCheckpoint } from '../../train/run/checkpoint-file.js';
import { REPO, runCli, startCli, type CliRun } from '../helpers/cli.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'agave-dp-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('--distributed flags and checks (no MPI needed)', () => {
  it('parses --distributed mpi with its settings and refuses them alone or malformed', () => {
    const o = parseOptions(['--distributed', 'mpi', '--checksum-every', '5', '--collective-timeout', '30', '--out', 'x']) as TrainOptions;
    expect(o.distributed).toEqual({ backend: 'mpi', checksumEvery: 5, timeoutSeconds: 30 });
    expect((parseOptions(['--distributed', 'mpi', '--out', 'x']) as TrainOptions).distributed).toEqual({ backend: 'mpi', checksumEvery: 100, timeoutSeconds: 600 });
    expect(() => parseOptions(['--distributed', 'nccl'])).toThrow(/--distributed must be mpi/);
    expect(() => parseOptions(['--checksum-every', '5'])).toThrow(/--checksum-every only applies with --distributed mpi/);
    expect(() => parseOptions(['--distributed', 'mpi', '--collective-timeout', '0'])).toThrow(/--collective-timeout must be a number >= 1/);
    expect(() => parseOptions(['--rescale-batch', 'global'])).toThrow(/only applies with --resume/);
    expect(() => parseOptions(['--resume', '--rescale-batch', 'half'])).toThrow(/--rescale-batch must be global or per-rank/);
    expect((parseOptions(['--resume', '--rescale-batch', 'per-rank']) as TrainOptions).rescaleBatch).toBe('per-rank');
  });

  it('finds the launcher from its variables (Open MPI, PMIx, PMI-2) and none in a plain process', () => {
    expect(launcherOf({})).toBeNull();
    expect(launcherOf({ OMPI_COMM_WORLD_RANK: '1', OMPI_COMM_WORLD_SIZE: '4' })).toEqual({ name: 'mpirun (Open MPI)', rank: 1, size: 4 });
    expect(launcherOf({ PMIX_RANK: '0', SLURM_NTASKS: '8' })?.size).toBe(8);
    expect(launcherOf({ PMI_RANK: '3', PMI_SIZE: '4' })?.rank).toBe(3);
    expect(libmpiCandidates({ AGAVE_LIBMPI: '/opt/x/libmpi.so' })[0]).toBe('/opt/x/libmpi.so');
  });

  it('--distributed mpi without a launcher says how to start it (before loading koffi or libmpi)', async () => {
    await expect(Mpi.start({ timeoutSeconds: 5 }, {})).rejects.toThrow(NO_LAUNCHER);
    const out = tempDir();
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const k of Object.keys(env)) if (/^(OMPI_|PMIX_|PMI_)/.test(k)) delete env[k];
    const r = await runCli(['--distributed', 'mpi', '--config', 'tiny', '--steps', '1', '--out', join(out, 'run')], { env });
    expect(r.code, r.output).toBe(1);
    expect(r.output).toContain('was not started by an MPI launcher');
    expect(r.output).toContain('mpirun -np N node train.js --distributed mpi');
  });

  it('a resume on another number of ranks needs --rescale-batch, and each choice is checked', () => {
    const ck = { ranks: 2, batch: 8 };
    expect(rankChangeAllowed(ck, { ranks: 2, batch: 8 }, undefined)).toEqual([]);
    expect(() => rankChangeAllowed(ck, { ranks: 4, batch: 16 }, undefined)).toThrow(/trained on 2 ranks x batch 4 \(global batch 8\); this run has 4\. Say how to rescale: --rescale-batch global .* or --rescale-batch per-rank/);
    expect(() => rankChangeAllowed(ck, { batch: 8 }, undefined)).toThrow(/this run has 1/);
    expect(rankChangeAllowed(ck, { ranks: 4, batch: 8 }, 'global')).toEqual(['ranks']);
    expect(() => rankChangeAllowed(ck, { ranks: 4, batch: 16 }, 'global')).toThrow(/keeps the checkpoint's global batch 8: with 4 ranks that is --batch 2/);
    expect(rankChangeAllowed({ batch: 8 }, { ranks: 2, batch: 16 }, 'per-rank')).toEqual(['ranks', 'batch']);
  });

  it('the state checksum changes with any bit of any array', () => {
    const a = new Float32Array([1, 2, 3]);
    const b = new Float32Array([4, 5]);
    const s = stateChecksum([a, b]);
    expect(stateChecksum([new Float32Array([1, 2, 3]), new Float32Array([4, 5])])).toBe(s);
    b[1] = 5.000001;
    expect(stateChecksum([a, b])).not.toBe(s);
  });

  it('chooses a GPU per local rank by PCI address (fake sysfs), respects the user\'s choice, and needs none for one GPU', () => {
    const root = tempDir();
    const dev = (addr: string, cls: string, vendor = '0x10de', device = '0x2330'): void => {
      mkdirSync(join(root, addr));
      writeFileSync(join(root, addr, 'class'), `${cls}\n`);
      writeFileSync(join(root, addr, 'vendor'), `${vendor}\n`);
      writeFileSync(join(root, addr, 'device'), `${device}\n`);
    };
    dev('0000:c1:00.0', '0x030200');
    dev('0000:00:02.0', '0x020000'); // a network card
    dev('0000:41:00.0', '0x030200');
    dev('0000:03:00.0', '0x030000', '0x1a03', '0x2000'); // a BMC's VGA
    expect(displayDevices(root).map((d) => d.address)).toEqual(['0000:03:00.0', '0000:41:00.0', '0000:c1:00.0']);
    expect(driPrimeOf('0000:41:00.0')).toBe('pci-0000_41_00_0');
    const env: NodeJS.ProcessEnv = {};
    const line = selectGpu(2, 3, env, root);
    expect(env.DRI_PRIME).toBe('pci-0000_c1_00_0');
    expect(env.MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE).toBe('1');
    expect(line).toContain('GPU 2 of 3 by PCI address: 0000:c1:00.0');
    expect(selectGpu(0, 2, { DRI_PRIME: 'pci-0000_41_00_0' }, root)).toContain('chosen by the environment (DRI_PRIME=pci-0000_41_00_0)');
    expect(selectGpu(0, 4, {}, join(root, 'none'))).toContain('4 ranks share it');
  });
});

/** What the mpirun tests need, or why they are skipped. */
function missingForMpi(): string | null {
  try {
    execFileSync('mpirun', ['--version'], { stdio: 'ignore' });
  } catch {
    return 'needs Open MPI\'s mpirun (apt-get install openmpi-bin); .ci/run installs it';
  }
  try {
    createRequire(join(REPO, 'package.json')).resolve('koffi');
  } catch {
    return 'needs koffi (npm install koffi@3); .ci/run installs it';
  }
  return null;
}
const MISSING = missingForMpi();

const MPIRUN = ['mpirun', ...(process.getuid?.() === 0 ? ['--allow-run-as-root'] : []), '--oversubscribe', '--bind-to', 'none', '-np', '2'];
const TINY = ['--config', 'tiny', '--eval-every', '100', '--eval-images', '16', '--pixelcnn-recon', '0', '--log-every', '1'];

interface TrainRow { step: number; loss: number; pixelcnn: number; aux: number; kl: number; klObjective: number }
const trainRows = (dir: string): TrainRow[] =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TrainRow & { type: string }).filter((r) => r.type === 'train');

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/**
 * Final parameters (or EMA) of N ranks against one process, within float32 summation order: relative L2 at
 * most 1e-5, and at most 1 element in 10,000 more than 1e-5 apart, none more than Adamax's bound 2 lr x steps.
 * (An element whose gradient is zero up to rounding moves by +-lr v/u, whichever sign rounding gives it:
 * measured once, 3 ranks with dropout, one of 226,193 elements 4e-4 apart, the first step's 2 x 0.002 x 0.1.)
 */
function expectSameState(what: string, a: Float32Array, b: Float32Array, steps: number, lr = 0.002): void {
  let far = 0;
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (d > 1e-5) far++;
    num += d * d;
    den += b[i]! * b[i]!;
  }
  const rel = Math.sqrt(num / den);
  const worst = maxAbsDiff(a, b);
  const msg = `${what}: relative L2 ${rel.toExponential(3)}, ${far} of ${a.length} elements more than 1e-5 apart, max |diff| ${worst.toExponential(3)}`;
  expect(rel, msg).toBeLessThanOrEqual(1e-5);
  expect(far, msg).toBeLessThanOrEqual(Math.ceil(a.length / 10_000));
  expect(worst, msg).toBeLessThanOrEqual(2 * lr * steps);
}

/**
 * Starts a 200-step 2-rank run, waits for step `at`, sends `signal` to rank 1 (its pid from its start-up line);
 * returns the run, rank 1's pid, its folder and when the signal went.
 */
async function signalRank1(extra: string[], at: number, signal: NodeJS.Signals): Promise<{ run: CliRun; pid: number; out: string; t0: number }> {
  const out = join(tempDir(), 'run');
  const run = await startCli([...TINY, '--distributed', 'mpi', '--steps', '200', '--batch', '4', ...extra, '--out', out], { launcher: MPIRUN });
  await run.waitFor(new RegExp(`step {${4 - String(at).length}}${at}/200`));
  const pid = Number(/rank 1\/2 \(host .*, pid (\d+)\)/.exec(run.output())![1]);
  const t0 = performance.now();
  process.kill(pid, signal);
  return { run, pid, out, t0 };
}

describe('mpirun -np 2 on this machine', () => {
  it('trains the tiny config for 20 steps like one process with the doubled batch and the same data order', async (ctx) => {
    if (MISSING) ctx.skip(MISSING);
    const root = tempDir();
    const dpRun = join(root, 'dp');
    const dp = await startCli([...TINY, '--distributed', 'mpi', '--steps', '20', '--batch', '4', '--out', dpRun], { launcher: MPIRUN });
    const single = await runCli([...TINY, '--steps', '20', '--batch', '8', '--out', join(root, 'single')]);
    const d = await dp.exit;
    expect(d.code, d.output).toBe(0);
    expect(single.code, single.output).toBe(0);
    expect(d.output).toMatch(/rank 0\/2 \(host .*local rank 0 of 2/);
    expect(d.output).toMatch(/rank 1\/2 \(host .*local rank 1 of 2/);
    expect(d.output).toMatch(/state checksums equal on every rank/);
    const a = trainRows(dpRun);
    const b = trainRows(join(root, 'single'));
    expect(a.length).toBe(20);
    expect(b.length).toBe(20);
    for (let i = 0; i < 20; i++) {
      for (const k of ['loss', 'pixelcnn', 'aux', 'kl', 'klObjective'] as const) {
        const rel = Math.abs(a[i]![k] - b[i]![k]) / Math.max(Math.abs(b[i]![k]), 1e-6);
        expect(rel, `step ${i + 1} ${k}: 2 ranks x batch 4 ${a[i]![k]}, 1 process x batch 8 ${b[i]![k]}`).toBeLessThanOrEqual(1e-5);
      }
    }
    const ca = loadCheckpoint(join(dpRun, 'checkpoint.agave'));
    const cb = loadCheckpoint(join(root, 'single', 'checkpoint.agave'));
    expect((ca.meta.signature as Record<string, unknown>).ranks).toBe(2);
    expect((ca.meta.signature as Record<string, unknown>).batch).toBe(8);
    for (const k of ['params', 'ema'] as const) expectSameState(`final ${k} after 20 steps, 2 ranks x batch 4 vs 1 process x batch 8`, ca.arrays[k]!, cb.arrays[k]!, 20);
    // Only rank 0 wrote: one metrics record per step (not two).
    expect(readFileSync(join(dpRun, 'metrics.jsonl'), 'utf8').split('\n').filter((l) => l.includes('"type":"train"')).length).toBe(20);
  }, 400_000);

  it('Ctrl-C on mpirun stops both ranks with a checkpoint of the step they reached; --resume continues both exactly', async (ctx) => {
    if (MISSING) ctx.skip(MISSING);
    const root = tempDir();
    const out = join(root, 'run');
    const args = [...TINY, '--distributed', 'mpi', '--batch', '4', '--checkpoint-every', '1000', '--out', out];
    // mpirun's Ctrl-C: SIGTERM to the ranks after odls_base_sigkill_timeout seconds (then SIGKILL as long
    // after); 5 s give them the time to finish the step and write the checkpoint (docs/DISTRIBUTED.md).
    const launcher = [...MPIRUN.slice(0, -2), '--mca', 'odls_base_sigkill_timeout', '5', '-np', '2'];
    const first = await startCli([...args, '--steps', '400'], { launcher });
    await first.waitFor(/step {3}4\/400/);
    first.child.kill('SIGINT');
    const e = await first.exit;
    expect(e.code, e.output).not.toBe(0);
    // --checkpoint-every 1000: the only checkpoint is the one the graceful stop wrote.
    const stoppedAt = loadCheckpoint(join(out, 'checkpoint.agave')).meta.step as number;
    expect(stoppedAt, e.output).toBeGreaterThanOrEqual(4);
    expect(stoppedAt).toBeLessThan(400);
    const total = stoppedAt + 10;
    const second = await startCli([...args, '--steps', String(total), '--resume'], { launcher: MPIRUN });
    const single = await runCli([...TINY, '--batch', '8', '--steps', String(total), '--out', join(root, 'single')]);
    const r = await second.exit;
    expect(r.code, r.output).toBe(0);
    expect(single.code, single.output).toBe(0);
    expect(r.output).toContain(`resumed from ${join(out, 'checkpoint.agave')} at step ${stoppedAt}`);
    expect(r.output).toMatch(/state checksums equal on every rank/);
    const a = trainRows(out);
    const b = trainRows(join(root, 'single'));
    expect(a.map((x) => x.step)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    for (let i = 0; i < total; i++) {
      const rel = Math.abs(a[i]!.loss - b[i]!.loss) / Math.abs(b[i]!.loss);
      expect(rel, `step ${i + 1} (stopped by Ctrl-C at ${stoppedAt}, resumed): loss ${a[i]!.loss} vs one process ${b[i]!.loss}`).toBeLessThanOrEqual(1e-5);
    }
    const ca = loadCheckpoint(join(out, 'checkpoint.agave'));
    const cb = loadCheckpoint(join(root, 'single', 'checkpoint.agave'));
    expect(ca.meta.step).toBe(total);
    for (const k of ['params', 'ema'] as const) expectSameState(`${k} after a Ctrl-C at step ${stoppedAt} and --resume to ${total}, against one process`, ca.arrays[k]!, cb.arrays[k]!, total);
  }, 400_000);

  it('kill -9 of rank 1 ends the job in under 30 s, naming rank 1, and the checkpoint stays intact', async (ctx) => {
    if (MISSING) ctx.skip(MISSING);
    const { run, out, t0 } = await signalRank1(['--checkpoint-every', '2'], 5, 'SIGKILL');
    const e = await run.exit;
    const seconds = (performance.now() - t0) / 1000;
    expect(seconds, `the job ended ${seconds.toFixed(1)} s after kill -9 of rank 1; output:\n${e.output}`).toBeLessThan(30);
    expect(e.code).not.toBe(0);
    expect(e.output).toMatch(/rank 1 .*exited on signal 9/);
    const ck = loadCheckpoint(join(out, 'checkpoint.agave')); // verifies its checksum
    expect(ck.meta.step).toBeGreaterThanOrEqual(2);
  }, 300_000);

  it('a hung rank (stopped) ends the job at the collective timeout with a message naming it', async (ctx) => {
    if (MISSING) ctx.skip(MISSING);
    const { run, pid, t0 } = await signalRank1(['--collective-timeout', '5'], 3, 'SIGSTOP');
    try {
      const e = await run.exit;
      const seconds = (performance.now() - t0) / 1000;
      expect(seconds, e.output).toBeLessThan(30);
      expect(e.code).not.toBe(0);
      expect(e.output).toMatch(/rank 0: the collective '.*' \(#\d+\) did not complete within 5 s: rank 1 \(host .*, pid \d+\) did not answer \(stopped, hung or dead\)/);
    } finally {
      try {
        process.kill(pid, 'SIGKILL'); // if mpirun left it behind
      } catch {
        // gone, as it should be
      }
    }
  }, 300_000);
});
