import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { appendJsonl, bitsPerDim, formatDuration } from '../../train/run/metrics.js';

const tmp = mkdtempSync(join(tmpdir(), 'agave-metrics-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('metrics helpers', () => {
  it('appendJsonl appends one line per record, creating folders', () => {
    const p = join(tmp, 'a', 'b', 'metrics.jsonl');
    appendJsonl(p, { step: 1, loss: 3.5 });
    appendJsonl(p, { step: 2, loss: NaN });
    const lines = readFileSync(p, 'utf8').split('\n');
    expect(lines).toEqual(['{"step":1,"loss":3.5}', '{"step":2,"loss":null}', '']);
  });

  it('formatDuration', () => {
    expect(formatDuration(12)).toBe('12s');
    expect(formatDuration(2.46)).toBe('2.5s');
    expect(formatDuration(185)).toBe('3m05s');
    expect(formatDuration(3720)).toBe('1h02m');
    expect(formatDuration(59.7)).toBe('1m00s');
    expect(formatDuration(3599.8)).toBe('1h00m');
    expect(formatDuration(-1)).toBe('?');
    expect(formatDuration(Infinity)).toBe('?');
  });

  it('bitsPerDim', () => {
    expect(bitsPerDim(3072 * Math.LN2 * 3, 3072)).toBeCloseTo(3, 12);
    expect(bitsPerDim(0, 10)).toBe(0);
  });
});
