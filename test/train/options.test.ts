// Flag validation (train/options.ts): numbers are parsed strictly (decimal, finite, integers where
// integers are meant), ranges are checked, negative values get a range error in both `--x=-1` and `--x -1` form,
// and every error names its flag. No GPU.
import { describe, expect, it } from 'vitest';
import { HELP, parseOptions } from '../../train/options.js';
import type { TrainOptions } from '../../train/trainer.js';

function parse(args: string[]): TrainOptions {
  const o = parseOptions(['--out', 'x', ...args]);
  if (typeof o === 'string') throw new Error(`expected options, got ${o}`);
  return o;
}

const INTEGER_FLAGS: [string, number][] = [
  ['steps', 1], ['batch', 1], ['seed', 0], ['eval-every', 1], ['eval-images', 1], ['checkpoint-every', 1], ['log-every', 1],
  ['vae-pretrain', 0], ['pixelcnn-pretrain', 0], ['drop-aux-at', 0], ['train-images', 1], ['iw-samples', 1], ['agave-samples', 0],
];
const REAL_FLAGS = ['lr', 'lambda', 'ema', 'dropout', 'time-limit'];

describe('flag validation', () => {
  it('rejects what Number() would accept but a person did not mean: hex, binary, Infinity, empty, junk, overflow', () => {
    for (const flag of [...INTEGER_FLAGS.map(([f]) => f), ...REAL_FLAGS]) {
      for (const bad of ['0x10', '0b11', '1_000', 'Infinity', 'NaN', '', ' 3', '3 ', '2abc', '1e400']) {
        expect(() => parse([`--${flag}=${bad}`]), `--${flag}=${JSON.stringify(bad)}`).toThrow(new RegExp(`^--${flag} must be .*got '${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}'`));
      }
    }
  });

  it('integers: decimal digits (or an exact exponent form), ranges by flag, negatives in both forms', () => {
    for (const [flag, min] of INTEGER_FLAGS) {
      for (const form of [[`--${flag}=-1`], [`--${flag}`, '-1']]) {
        expect(() => parse(form), form.join(' ')).toThrow(new RegExp(`^--${flag} must be an integer >= ${min}, got '-1'`));
      }
      expect(() => parse([`--${flag}`, '2.5']), `--${flag} 2.5`).toThrow(new RegExp(`^--${flag} must be an integer >= ${min}, got '2.5'`));
      if (min === 1) expect(() => parse([`--${flag}`, '0'])).toThrow(new RegExp(`^--${flag} must be an integer >= 1, got '0'`));
    }
    expect(parse(['--steps', '1e3']).steps).toBe(1000);
    expect(parse(['--steps', '16']).steps).toBe(16);
    expect(() => parse(['--steps', '0x10'])).toThrow(/--steps must be an integer >= 1 \(decimal digits\), got '0x10'/);
    expect(() => parse(['--seed', '9007199254740993'])).toThrow(/--seed must be an integer >= 0/);
  });

  it('learning rate > 0 and a finite float32; other reals in their ranges', () => {
    expect(parse(['--lr', '1e-3']).lr).toBe(0.001);
    expect(parse(['--lr', '.5']).lr).toBe(0.5);
    expect(() => parse(['--lr', '0'])).toThrow(/^--lr must be a number > 0, got '0'/);
    expect(() => parse(['--lr', '-1'])).toThrow(/^--lr must be a number > 0, got '-1'/);
    expect(() => parse(['--lr=-0.002'])).toThrow(/^--lr must be a number > 0, got '-0.002'/);
    expect(() => parse(['--lr', '1e39'])).toThrow(/^--lr must be a number > 0 and <= 3\.4e38 \(the largest float32\), got '1e39'/);
    expect(() => parse(['--lambda', '-1'])).toThrow(/^--lambda must be a number >= 0, got '-1'/);
    expect(() => parse(['--lambda', '1e39'])).toThrow(/^--lambda must be a number >= 0 and <= 3\.4e38/);
    expect(() => parse(['--ema', '1'])).toThrow(/^--ema must be a number >= 0 and < 1, got '1'/);
    expect(() => parse(['--ema', '-0.5'])).toThrow(/^--ema must be a number >= 0 and < 1, got '-0.5'/);
    expect(() => parse(['--dropout', '1'])).toThrow(/^--dropout must be a number >= 0 and < 1, got '1'/);
    expect(() => parse(['--time-limit', '-1'])).toThrow(/^--time-limit must be a number >= 0, got '-1'/);
    expect(parse(['--time-limit', '0']).timeLimitMinutes).toBeUndefined();
    expect(parse(['--time-limit', '2.5']).timeLimitMinutes).toBe(2.5);
  });

  it('--levels: an integer >= 2 dividing 256', () => {
    expect(parse(['--aux', 'levels', '--levels', '32']).levels).toBe(32);
    for (const bad of ['3', '100']) expect(() => parse(['--aux', 'levels', '--levels', bad])).toThrow(new RegExp(`^--levels must divide 256 .*got '${bad}'`));
    expect(() => parse(['--aux', 'levels', '--levels', '1'])).toThrow(/^--levels must be an integer in 2\.\.256, got '1'/);
    expect(() => parse(['--aux', 'levels', '--levels', '512'])).toThrow(/^--levels must be an integer in 2\.\.256, got '512'/);
  });

  it('names, folders and switches: --config, --out, --resume with --overwrite', () => {
    expect(() => parse(['--config', 'toString'])).toThrow(/^--config must be one of tiny, quick, small, paper, got 'toString'/);
    expect(() => parseOptions(['--out', ''])).toThrow(/^--out must name a folder/);
    expect(() => parse(['--resume', '--overwrite'])).toThrow(/--resume and --overwrite contradict each other/);
    expect(parse(['--overwrite']).overwrite).toBe(true);
    const o = parse([]);
    expect([o.out, o.linkLatest, o.overwrite]).toEqual(['x', undefined, undefined]);
    expect(() => parseOptions(['--steps'])).toThrow(/--steps.*\(see --help\)/);
    for (const doc of ['--overwrite', 'runs/latest', 'run.lock', 'Ctrl-C / SIGTERM', '130 / 143']) expect(HELP, `--help documents ${doc}`).toContain(doc);
  });

  it('--sampler: cached (the default when absent) or naive', () => {
    expect(parse([]).sampler).toBeUndefined();
    expect(parse(['--sampler', 'naive']).sampler).toBe('naive');
    expect(parse(['--sampler', 'cached']).sampler).toBe('cached');
    expect(() => parse(['--sampler', 'fast'])).toThrow(/^--sampler must be one of cached, naive, got 'fast'/);
    expect(HELP).toContain('--sampler KIND');
  });
});
