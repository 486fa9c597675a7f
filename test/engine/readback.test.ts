// ReadbackRing (engine/readback.ts): several tensors come back in one staging buffer, in order, with the values
// they had when read() was called even if later work overwrites them; reads overlap (several in flight) and the
// ring reuses its staging buffers; u32 flags survive the Float32Array round trip bit-exactly.
import { afterAll, describe, expect, it } from 'vitest';
import { ReadbackRing, ops } from '../../engine/index.js';
import { disposeTestEngine, testEngine } from '../helpers/gpu.js';

afterAll(disposeTestEngine);

describe('ReadbackRing', () => {
  it('reads several tensors at once, as they were at read(), with reads in flight while later work is recorded', async () => {
    const engine = await testEngine();
    const ring = new ReadbackRing(engine, 2);
    const a = engine.tensor([1, 2, 3, 4, 5], [5]).keep();
    const bits = new Uint32Array([0, 0x7fc00000, 0xffffffff, 123456789]);
    const flags = engine.tensor(new Float32Array(bits.buffer), [4]).keep();
    const reads: Promise<Float32Array[]>[] = [];
    for (let k = 0; k < 6; k++) {
      // a <- a * 2 after each read: read k must see 2^k * [1..5], not a later value.
      reads.push(ring.read([a, flags]));
      engine.scope(() => {
        const y = ops.mulScalar(a, 2);
        engine.runner.copyEncoder().copyBufferToBuffer(y.gpuBuffer.buffer, y.byteOffset, a.gpuBuffer.buffer, a.byteOffset, a.byteLength);
      });
      engine.flush();
    }
    expect(ring.pending, 'reads in flight before any is awaited').toBeGreaterThan(0);
    const got = await Promise.all(reads);
    got.forEach(([va, vf], k) => {
      expect([...va!], `read ${k}: tensor [5] after ${k} doublings`).toEqual([1, 2, 3, 4, 5].map((v) => v * 2 ** k));
      expect([...new Uint32Array(vf!.buffer, vf!.byteOffset, 4)], `read ${k}: u32 flags [4] bit-exact`).toEqual([...bits]);
    });
    expect(ring.pending).toBe(0);
    // Sequential reads reuse the ring's buffers instead of creating one per read.
    const before = ring.buffersCreated;
    for (let k = 0; k < 5; k++) await ring.read([a]);
    expect(ring.buffersCreated - before, 'staging buffers created by 5 sequential reads').toBeLessThanOrEqual(0);
    ring.destroy();
    a.dispose();
    flags.dispose();
    expect(() => ring.read([a])).toThrow(/destroyed/);
  });
});
