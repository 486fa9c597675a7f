// mulberry32, the CPU random generator of the trainer (batch order shuffles, the CPU sampler of the VAE's
// discretized logistic): small, fast, deterministic per seed; the GPU's noise is Philox (shaders/philox_lib.wgsl).

/** A generator of uniform numbers in [0, 1) from a 32-bit state. */
export function mulberry32(state: number): () => number {
  let a = state >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
