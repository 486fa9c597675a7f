// Inverted dropout, engine/ops/gated.ts: y[i] = x[i] * scale if kept else 0, scale = 1 / (1 - p) (rounded to
// f32 on the CPU). Element i is kept when philox4x32_10((i, stream, 2, 0), key).x mapped to (0,1) is >= p
// (kind 2 = dropout; the engine's uniform/normal use 0 and 1). The backward is the same kernel applied to the
// output gradient: the mask is regenerated from the counter, never stored.
struct Params { n: u32, stream: u32, key0: u32, key1: u32, p: f32, scale: f32, _p0: u32, _p1: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

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

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (i >= params.n) { return; }
  let w = philox4x32_10(vec4u(i, params.stream, 2u, 0u), vec2u(params.key0, params.key1));
  y[i] = select(0.0, x[i] * params.scale, to_unit(w.x) >= params.p);
}
