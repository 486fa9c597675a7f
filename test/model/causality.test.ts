// The causality check itself (test/helpers/causality.ts) must fail on a model that looks at the current or a
// later pixel, and on one that ignores earlier pixels, so a green causality test means something.
import { describe, expect, it } from 'vitest';
import { expectCausal } from '../helpers/causality.js';

const B = 1, S = 4, C = 1;
/** out[i] = x[i + lag] (raster order, zero past the end): lag 0 sees the current pixel, -1 is causal. */
const shifted = (lag: number) => async (x: Float32Array): Promise<Float32Array> => Float32Array.from(x, (_, i) => x[i + lag] ?? 0);

describe('expectCausal', () => {
  it('passes a causal model (each output is the previous pixel)', async () => {
    await expectCausal('shift by one', shifted(-1), [B, S, C], [[0, 0], [1, 2], [3, 2]]);
  });

  it('fails a model that sees the current pixel, or a later one', async () => {
    await expect(expectCausal('identity', shifted(0), [B, S, C], [[1, 2]])).rejects.toThrow(/identity 4x4: pixel \(1,2\) changed the output at \(1,2\)/);
    await expect(expectCausal('look-ahead', shifted(2), [B, S, C], [[1, 2]])).rejects.toThrow(/look-ahead 4x4: pixel \(1,2\) changed the output at \(1,0\)/);
  });

  it('fails a model whose later outputs ignore the pixel', async () => {
    await expect(expectCausal('constant', async (x) => new Float32Array(x.length), [B, S, C], [[1, 2]])).rejects.toThrow(/constant 4x4: pixel \(1,2\) changed no later output at all/);
  });
});
