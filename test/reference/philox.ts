// CPU reference of the engine's counter-based RNG: Philox4x32-10 (Random123)
// and the derived uniform / normal streams that the GPU kernel implements.
// Tests use it to check GPU random tensors bit-for-bit (uniform) or to float32
// accuracy (normal), independently of the WGSL code.

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;
const TWO32 = 4294967296;

/** Full 64-bit product of two uint32 as [hi, lo] (both uint32). */
export function mulhilo32(a: number, b: number): [number, number] {
  const lo = Math.imul(a, b) >>> 0;
  const aL = a & 0xffff;
  const aH = a >>> 16;
  const bL = b & 0xffff;
  const bH = b >>> 16;
  const ll = aL * bL; // < 2^32, all partial products exact in float64
  const lh = aL * bH;
  const hl = aH * bL;
  const hh = aH * bH;
  const mid = Math.floor(ll / 65536) + (lh % 65536) + (hl % 65536);
  const hi = (hh + Math.floor(lh / 65536) + Math.floor(hl / 65536) + Math.floor(mid / 65536)) >>> 0;
  return [hi, lo];
}

/** Philox4x32-10 block function on unsigned 32-bit words. */
export function philox4x32(counter: readonly [number, number, number, number], key: readonly [number, number]): [number, number, number, number] {
  let c0 = counter[0] >>> 0;
  let c1 = counter[1] >>> 0;
  let c2 = counter[2] >>> 0;
  let c3 = counter[3] >>> 0;
  let k0 = key[0] >>> 0;
  let k1 = key[1] >>> 0;
  for (let r = 0; r < 10; r++) {
    if (r > 0) {
      k0 = (k0 + W0) >>> 0;
      k1 = (k1 + W1) >>> 0;
    }
    const [hi0, lo0] = mulhilo32(M0, c0);
    const [hi1, lo1] = mulhilo32(M1, c2);
    const n0 = (hi1 ^ c1 ^ k0) >>> 0;
    const n1 = lo1;
    const n2 = (hi0 ^ c3 ^ k1) >>> 0;
    const n3 = lo0;
    c0 = n0;
    c1 = n1;
    c2 = n2;
    c3 = n3;
  }
  return [c0, c1, c2, c3];
}

/** Split a seed (non-negative integer < 2^53) into the Philox key [low 32 bits, high 32 bits]. */
export function seedToKey(seed: number): [number, number] {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`seed must be a non-negative integer < 2^53, got ${seed}`);
  return [seed % TWO32 >>> 0, Math.floor(seed / TWO32) >>> 0];
}

/**
 * A stream number (a non-negative safe integer) as the counter's words 1 and 3: the engine's counter is
 * (element, stream mod 2^32, kind, floor(stream / 2^32)), so streams never wrap.
 */
export function streamCounter(stream: number): [number, number] {
  if (!Number.isSafeInteger(stream) || stream < 0) throw new Error(`stream must be a non-negative integer < 2^53, got ${stream}`);
  return [stream % TWO32, Math.floor(stream / TWO32)];
}

/** Map a uint32 to (0,1) using its top 24 bits: ((w >>> 8) + 0.5) / 2^24. Exactly representable in float32. */
export function wordToUnit(w: number): number {
  return ((w >>> 8) + 0.5) / 16777216;
}

/** Raw uniform words: element i -> philox([i, stream, 0, stream_hi], key)[0]. */
export function refUniformWords(n: number, seed: number, stream: number): Uint32Array {
  const key = seedToKey(seed);
  const [s, hi] = streamCounter(stream);
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = philox4x32([i >>> 0, s, 0, hi], key)[0];
  return out;
}

/** Uniform in (lo, hi): element i = lo + (hi - lo) * u_i. */
export function refUniform(n: number, seed: number, stream: number, lo = 0, hi = 1): Float64Array {
  const w = refUniformWords(n, seed, stream);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * wordToUnit(w[i]);
  return out;
}

/** Normal(mean, std) via Box-Muller on the first two words of philox([i, stream, 1, stream_hi], key). */
export function refNormal(n: number, seed: number, stream: number, mean = 0, std = 1): Float64Array {
  const key = seedToKey(seed);
  const [s, hi] = streamCounter(stream);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const r = philox4x32([i >>> 0, s, 1, hi], key);
    const u1 = wordToUnit(r[0]);
    const u2 = wordToUnit(r[1]);
    out[i] = mean + std * (Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2));
  }
  return out;
}
