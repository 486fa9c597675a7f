// Hostile inputs to `node train.js` itself: an empty --data, a failed start (nothing
// left behind), a checkpoint whose CRC is valid but whose content is not (a step that is no number, NaN
// parameters: refused on load, never called "the last good checkpoint"), a dangling symbolic link as --out,
// the refusal for a folder with metrics but no checkpoint (--overwrite, not --resume), --overwrite moving
// every file of the earlier run aside, and Ctrl-C during the final sampling (no "done", how to continue).
import { existsSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCheckpoint, saveCheckpoint } from '../../train/run/checkpoint-file.js';
import { parseOptions } from '../../train/options.js';
import { openRunFolder } from '../../train/run/folder.js';
import { train, type TrainOptions } from '../../train/trainer.js';
import { runCli, startCli } from '../helpers/cli.js';
import { tinyRunOptions } from '../helpers/tiny-run.js';

const quiet = (): void => {};
const fresh = (name: string): string => mkdtempSync(join(tmpdir(), `agave-inputs-${name}-`));

const opts = (out: string, extra: Partial<TrainOptions> = {}): TrainOptions => tinyRunOptions(out, extra);

describe('train.js inputs (no GPU)', () => {
  it('--data "" is an error naming the flag', () => {
    expect(() => parseOptions(['--data', ''])).toThrow(/--data must name a folder, got ''/);
    expect(() => parseOptions(['--data='])).toThrow(/--data must name a folder/);
  });

  it('a dangling symbolic link as --out names the link and its missing target', () => {
    const tmp = fresh('dangling');
    const link = join(tmp, 'run');
    symlinkSync(join(tmp, 'nowhere', 'deeper'), link);
    expect(() => openRunFolder({ out: link, resume: false }, quiet)).toThrow(
      new RegExp(`--out ${link}: a symbolic link to ${join(tmp, 'nowhere', 'deeper')}, which does not exist; create that folder or point the link at one`),
    );
  });

  it('a folder with metrics but no checkpoint: the refusal offers --overwrite (a resume needs a checkpoint)', () => {
    const dir = fresh('metrics-only');
    writeFileSync(join(dir, 'metrics.jsonl'), '{"type":"train","step":1}\n');
    let message = '';
    try {
      openRunFolder({ out: dir, resume: false }, quiet);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/already holds the metrics of a run that wrote no checkpoint/);
    expect(message).toMatch(/--overwrite/);
    expect(message).not.toMatch(/--resume --out/);
  });

  it('--overwrite moves every file of the earlier run aside (curves, grids, samples), not only the checkpoint and metrics', () => {
    const dir = fresh('overwrite');
    const files = ['metrics.jsonl', 'curves.svg', 'grid-latest.json', 'grid-step2.json', 'samples-step000002.png', 'agave-samples.png', 'agave-samples.json', 'vae-samples.png', 'pixelcnn-samples.json'];
    for (const f of files) writeFileSync(join(dir, f), f);
    writeFileSync(join(dir, 'notes.txt'), 'the user\'s own file');
    const lines: string[] = [];
    const folder = openRunFolder({ out: dir, resume: false, overwrite: true }, (l) => lines.push(l));
    folder.release();
    const aside = readdirSync(dir).find((f) => f.startsWith('replaced-'))!;
    expect(readdirSync(join(dir, aside)).sort()).toEqual([...files].sort());
    expect(readdirSync(dir).sort()).toEqual(['notes.txt', aside].sort());
  });
});

describe('train.js inputs (tiny config)', () => {
  it('a failed start leaves no --out folder behind (nor the parents it made)', async () => {
    const tmp = fresh('failed-start');
    await expect(train(opts(join(tmp, 'a', 'b'), { data: join(tmp, 'no-such-data'), steps: 1 }), quiet)).rejects.toThrow(/data directory not found/);
    expect(readdirSync(tmp)).toEqual([]);
    // A folder that existed before is kept (empty), only the lock is gone.
    const kept = join(tmp, 'kept');
    mkdirSync(kept);
    await expect(train(opts(kept, { data: join(tmp, 'no-such-data'), steps: 1 }), quiet)).rejects.toThrow(/data directory not found/);
    expect(readdirSync(tmp)).toEqual(['kept']);
    expect(readdirSync(kept)).toEqual([]);
  }, 120_000);

  it('a checkpoint with a valid CRC but a bad step or NaN parameters is refused on load, naming what is wrong', async () => {
    const dir = fresh('bad-meta');
    await train(opts(dir, { steps: 1 }), quiet);
    const path = join(dir, 'checkpoint.agave');
    const good = loadCheckpoint<Record<string, unknown>>(path);
    const cases: [string, (c: typeof good) => void, RegExp][] = [
      ['step "abc"', (c) => { c.meta.step = 'abc'; }, /checkpoint\.agave: its step is "abc", not a whole number >= 0/],
      ['step -1', (c) => { c.meta.step = -1; }, /its step is -1, not a whole number >= 0/],
      ['no names', (c) => { delete c.meta.names; }, /checkpoint\.agave: its parameter names are missing or not a list of strings/],
      ['NaN parameter', (c) => { c.arrays.params![5] = NaN; }, /checkpoint\.agave: its parameters hold NaN at '[^']+'\[\d+\]: not a usable state/],
      ['Inf in the EMA', (c) => { c.arrays.ema![0] = Infinity; }, /checkpoint\.agave: its EMA holds Infinity at '[^']+'\[0\]/],
      ['short arrays', (c) => { c.arrays.params = c.arrays.params!.subarray(1); }, /checkpoint\.agave: its parameters hold \d+ values, its parameter shapes need \d+/],
    ];
    for (const [what, spoil, re] of cases) {
      const c = loadCheckpoint<Record<string, unknown>>(path);
      spoil(c);
      const bad = fresh('bad-ck');
      saveCheckpoint(join(bad, 'checkpoint.agave'), c);
      const lines: string[] = [];
      await expect(train(opts(bad, { steps: 2, resume: true }), (l) => lines.push(l)), what).rejects.toThrow(re);
      expect(lines.join('\n'), what).not.toMatch(/last good checkpoint/);
    }
    expect(good.meta.step).toBe(1);
  }, 300_000);

  it('Ctrl-C during the final sampling: no "done", the sampling is named as interrupted, and the printed command draws the samples', async () => {
    const dir = join(fresh('sigint-sampling'), 'run');
    const args = ['--config', 'tiny', '--image-size', '16', '--batch', '4', '--eval-images', '4', '--pixelcnn-recon', '0', '--steps', '1', '--samples', '4', '--sampler', 'naive', '--out', dir];
    const run = await startCli(args);
    await run.waitFor(/drawing 4 AGAVE samples/);
    run.child.kill('SIGINT');
    const r = await run.exit;
    expect(r.code, r.output).toBe(130);
    expect(r.output).not.toMatch(/^done:/m);
    expect(r.output).toMatch(/SIGINT: AGAVE sampling interrupted; training finished at step 1 \(checkpoint .*checkpoint\.agave\)/);
    const cmd = /to continue: node train\.js (.*)$/m.exec(r.output);
    expect(cmd, r.output).not.toBeNull();
    const again = await runCli(cmd![1]!.split(' '));
    expect(again.code, again.output).toBe(0);
    expect(again.output).toMatch(/4 AGAVE samples .*agave-samples\.png/);
    expect(existsSync(join(dir, 'agave-samples.png'))).toBe(true);
  }, 300_000);
});
