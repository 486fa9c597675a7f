// Why: the importance-weighted bound was only checked for finiteness. Here importanceWeightedNats (train/evaluate/evaluate.ts)
// against a float64 logsumexp on known log-weights: K = 1 is exactly the single-sample bound, closed forms where
// exp() of the raw log-weights underflows (log-weights near -5000, spreads of 1e4), random sets against the
// direct sum, and Jensen's inequality (never above the mean of the single-sample bounds).
import { describe, expect, it } from 'vitest';
import { importanceWeightedNats } from '../../train/evaluate/evaluate.js';
import { mulberry32 } from '../reference/gradcheck.js';

describe('importance-weighted bound', () => {
  it('equals the single-sample bound for K = 1, exactly', () => {
    for (const w of [-1234.5678, -0.25, 0, -1e-300, -8e4]) expect(importanceWeightedNats([w]), `K = 1, log w = ${w}`).toBe(-w);
  });

  it('matches closed forms where the weights themselves underflow', () => {
    const cases: [number[], number][] = [
      [[-5000, -5000, -5000], 5000], // K equal weights: -log w
      [[-5000, -5000 + Math.log(3)], 5000 - Math.log(2)], // (w + 3w) / 2 = 2w
      [[-1e4, 0], Math.log(2)], // one weight negligible: log 2 - log(1 + e^-1e4)
      [[-700, -701, -702, -703], 700 - Math.log((1 + Math.exp(-1) + Math.exp(-2) + Math.exp(-3)) / 4)],
    ];
    for (const [w, expected] of cases) {
      const got = importanceWeightedNats(w);
      expect(Math.abs(got - expected) / Math.abs(expected), `importanceWeightedNats(${JSON.stringify(w)}) = ${got}, expected ${expected}`).toBeLessThan(1e-14);
    }
  });

  it('matches the direct float64 sum on random log-weights and never exceeds the mean single-sample bound', () => {
    const rng = mulberry32(150);
    for (const K of [2, 3, 17, 150]) {
      const w = Array.from({ length: K }, () => -40 * rng());
      // Direct float64: -log(mean(exp(w))) (no underflow for w in (-40, 0]).
      const direct = -Math.log(w.reduce((a, v) => a + Math.exp(v), 0) / K);
      const got = importanceWeightedNats(w);
      expect(Math.abs(got - direct) / Math.abs(direct), `K=${K}: ${got} vs ${direct}`).toBeLessThan(1e-13);
      const meanSingle = -w.reduce((a, v) => a + v, 0) / K;
      expect(got, `K=${K}: IWAE bound ${got} vs mean single-sample bound ${meanSingle}`).toBeLessThanOrEqual(meanSingle);
    }
  });
});
