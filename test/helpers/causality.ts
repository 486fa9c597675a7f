// Shared checks of the autoregressive models: PixelCNN++ causality (the output at raster position p must not
// depend on the pixels at positions >= p, and a pixel must change some later output), and IDX fixtures.
import { expect } from 'vitest';
import { mulberry32 } from '../reference/gradcheck.js';

/**
 * Bumps the pixels at `positions` (all channels, all images) of a random [B, S, S, C] input in [-1, 1] and
 * compares `forward`'s outputs [B, S, S, K] before and after: bit-identical at every position <= the bumped
 * one, changed somewhere after it (unless it is the last pixel). `what` names the model in failures.
 */
export async function expectCausal(what: string, forward: (x: Float32Array) => Promise<Float32Array>, shape: [number, number, number], positions: readonly (readonly [number, number])[], seed = 4): Promise<void> {
  const [B, S, C] = shape;
  const rng = mulberry32(seed);
  const xs = Float32Array.from({ length: B * S * S * C }, () => rng() * 2 - 1);
  const y0 = await forward(xs);
  const K = y0.length / (B * S * S);
  for (const [r, c] of positions) {
    const bumped = Float32Array.from(xs);
    for (let b = 0; b < B; b++) for (let ch = 0; ch < C; ch++) bumped[((b * S + r) * S + c) * C + ch] = rng() * 2 - 1;
    const y1 = await forward(bumped);
    let changedLater = 0;
    for (let b = 0; b < B; b++)
      for (let i = 0; i < S; i++)
        for (let j = 0; j < S; j++) {
          let changed = false;
          for (let k = 0; k < K; k++) if (y0[((b * S + i) * S + j) * K + k] !== y1[((b * S + i) * S + j) * K + k]) changed = true;
          if (i * S + j <= r * S + c) expect(changed, `${what} ${S}x${S}: pixel (${r},${c}) changed the output at (${i},${j}) of image ${b}`).toBe(false);
          else if (changed) changedLater++;
        }
    if (r * S + c < S * S - 1) expect(changedLater, `${what} ${S}x${S}: pixel (${r},${c}) changed no later output at all`).toBeGreaterThan(0);
  }
}

/** A Fashion-MNIST IDX file: big-endian magic, dimensions, then the bytes. */
export function idxFile(magic: number, dims: number[], payload: Uint8Array): Uint8Array {
  const b = Buffer.alloc(4 + 4 * dims.length + payload.length);
  b.writeInt32BE(magic, 0);
  dims.forEach((d, i) => b.writeInt32BE(d, 4 + 4 * i));
  b.set(payload, 4 + 4 * dims.length);
  return b;
}
