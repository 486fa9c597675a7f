// Philox4x32-10 (Salmon et al. 2011), shared by every kernel that draws noise: engine/kernels.ts prepends this
// file to those kernels (KernelSource.prelude) so there is one definition. A kernel uses counter
// (element index, stream, kind, stream_hi) and key = the seed's two 32-bit halves (a stream number is two words,
// engine/kernels.ts streamWords, so it never wraps); kinds: 0 uniform and 1 normal
// (philox.wgsl), 2 dropout and DMOL logistic noise, 3+ DMOL Gumbel noise (distinct streams per call).
// WGSL has no 64-bit integers: the 32x32->64 multiply is done in 16-bit halves.
fn mulhilo(a: u32, b: u32) -> vec2u {
  let a_lo = a & 0xffffu; let a_hi = a >> 16u;
  let b_lo = b & 0xffffu; let b_hi = b >> 16u;
  let lo_lo = a_lo * b_lo;
  let hi_lo = a_hi * b_lo;
  let lo_hi = a_lo * b_hi;
  let hi_hi = a_hi * b_hi;
  let cross = (lo_lo >> 16u) + (hi_lo & 0xffffu) + (lo_hi & 0xffffu);
  let hi = hi_hi + (hi_lo >> 16u) + (lo_hi >> 16u) + (cross >> 16u);
  let lo = a * b;
  return vec2u(hi, lo);
}

fn philox4x32_10(counter: vec4u, key: vec2u) -> vec4u {
  var c = counter;
  var k = key;
  for (var r = 0u; r < 10u; r++) {
    let p0 = mulhilo(0xD2511F53u, c.x);
    let p1 = mulhilo(0xCD9E8D57u, c.z);
    c = vec4u(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
    k = k + vec2u(0x9E3779B9u, 0xBB67AE85u);
  }
  return c;
}

fn to_unit(w: u32) -> f32 { return (f32(w >> 8u) + 0.5) / 16777216.0; }
