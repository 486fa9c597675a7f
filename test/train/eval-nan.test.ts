// A run whose evaluation gives a non-finite bits/dim stops like a non-finite loss: no "done", no
// checkpoint of that state, stoppedEarly 'nan' (exit code 3 in the CLI). The evaluation is replaced by one that
// reports NaN (the real one is checked elsewhere); everything else is the real tiny run.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { train } from '../../train/trainer.js';

vi.mock('../../train/evaluate/evaluate.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../train/evaluate/evaluate.js')>();
  return {
    ...real,
    evaluate: async (...args: Parameters<typeof real.evaluate>) => {
      const rec = await real.evaluate(...args);
      return args[1] >= 2 ? { ...rec, testBitsPerDim: NaN } : rec;
    },
  };
});

describe('non-finite evaluation', () => {
  it('stops the run at that evaluation, keeps the last good checkpoint, never says done', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'agave-evalnan-')), 'run');
    const lines: string[] = [];
    const r = await train({
      config: 'tiny', aux: 'identity', seed: 3, out, evalEvery: 1, evalImages: 8, checkpointEvery: 1, resume: false,
      vaePretrain: 0, pixelcnnPretrain: 0, logEvery: 1, batch: 4, steps: 3, pixelcnnRecon: 0,
    }, (l) => lines.push(l));
    const text = lines.join('\n');
    expect(r.stoppedEarly, text).toBe('nan');
    expect(text).toMatch(/step 2: the evaluation gave a non-finite test bits\/dim \(NaN\); stopping without saving this state\. The last good checkpoint \(.*checkpoint\.agave\) is kept unchanged/);
    expect(text).not.toMatch(/^done:/m);
    expect(r.steps.map((s) => s.step)).toEqual([1, 2]);
    expect(existsSync(join(out, 'checkpoint.agave'))).toBe(true);
    const { readCheckpointMeta } = await import('../../train/run/checkpoint-file.js');
    expect(readCheckpointMeta<{ step: number }>(join(out, 'checkpoint.agave')).step).toBe(1);
  }, 120_000);
});
