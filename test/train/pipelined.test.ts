// The pipelined loop (train/step/loop.ts: step N's values are read while step N+1 runs): a NaN found one step late
// still names its own step, stops before any checkpoint of a later state, and the run records exactly what the
// unpipelined run does (a checkpoint every step drains the pipeline at every step: the reference).
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { train, type TrainOptions } from '../../train/trainer.js';
import { loadCheckpoint } from '../../train/run/checkpoint-file.js';
import { tinyRunOptions } from '../helpers/tiny-run.js';

const opts = (out: string, extra: Partial<TrainOptions>): TrainOptions => tinyRunOptions(out, { lambda: 2, steps: 12, lr: 0.002, ...extra });

async function run(extra: Partial<TrainOptions>): Promise<{ dir: string; lines: string[]; r: Awaited<ReturnType<typeof train>> }> {
  const dir = mkdtempSync(join(tmpdir(), 'agave-pipe-'));
  const lines: string[] = [];
  const r = await train(opts(dir, extra), (l) => lines.push(l));
  return { dir, lines, r };
}

const nanLine = (lines: string[], dir: string): string | undefined => lines.find((l) => /non-finite/.test(l))?.replace(dir, 'DIR');

describe('pipelined training steps', () => {
  it('a NaN found while the next step runs: same stop, same step named, no later checkpoint', async () => {
    // lr 0.3 diverges at step 3 on the tiny config (the reference shows where). Reference: a checkpoint after
    // every step (each step is checked before the next is recorded). Pipelined: checkpoints every 2 steps, so
    // the bad step is found while the next one (a checkpoint step) is in flight.
    const ref = await run({ lr: 0.3, checkpointEvery: 1 });
    const pipe = await run({ lr: 0.3, checkpointEvery: 2 });
    expect(ref.r.stoppedEarly).toBe('nan');
    expect(pipe.r.stoppedEarly).toBe('nan');
    const good = ref.r.steps.length;
    expect(pipe.r.steps.map((s) => s.step), 'steps recorded before the stop').toEqual(ref.r.steps.map((s) => s.step));
    expect(pipe.r.steps.map((s) => s.loss), 'losses of the pipelined run').toEqual(ref.r.steps.map((s) => s.loss));
    const bad = nanLine(ref.lines, ref.dir);
    expect(bad, 'the reference stops with a message').toMatch(new RegExp(`^step ${good + 1}: non-finite`));
    // Same message, naming the same step (the checkpoint it keeps may differ: written every 2 steps here).
    expect(nanLine(pipe.lines, pipe.dir)?.replace(/The last good checkpoint .*/, '')).toBe(bad!.replace(/The last good checkpoint .*/, ''));
    // Log lines name each step once, in order, and none after the stop.
    const logged = pipe.lines.map((l) => /^step\s+(\d+)\/12 /.exec(l)?.[1]).filter((s) => s !== undefined).map(Number);
    expect(logged).toEqual(pipe.r.steps.map((s) => s.step));
    const ckPath = join(pipe.dir, 'checkpoint.agave');
    const lastSave = Math.floor(good / 2) * 2;
    if (lastSave === 0) {
      expect(existsSync(ckPath), 'no checkpoint before step 2').toBe(false);
    } else {
      const ck = loadCheckpoint<{ step: number }>(ckPath);
      expect(ck.meta.step, `the checkpoint is the last one due at or before step ${good}`).toBe(lastSave);
      for (const [name, a] of Object.entries(ck.arrays)) expect(a.findIndex((v) => !Number.isFinite(v)), `checkpoint array '${name}'`).toBe(-1);
    }
  }, 300_000);

  it('a non-finite state after step 1 is named as step 1 though step 2 was already recorded', async () => {
    const { dir, lines, r } = await run({ steps: 4, lr: 1e39 });
    expect(r.stoppedEarly).toBe('nan');
    expect(r.steps).toEqual([]);
    expect(lines.join('\n')).toMatch(/step 1: non-finite parameters, EMA(, Adamax [uv])* after the update .* The last good checkpoint \(none written yet\) is kept unchanged\./);
    expect(existsSync(join(dir, 'checkpoint.agave'))).toBe(false);
  }, 300_000);
});
