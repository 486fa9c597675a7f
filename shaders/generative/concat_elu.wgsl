// concat_elu (PixelCNN++ nn.concat_elu) fused with optional dropout (engine/ops/gated.ts):
//   y[r, c] = elu(x[r, c]) * m(r*2C + c) * scale,   y[r, C + c] = elu(-x[r, c]) * m(r*2C + C + c) * scale
// for x viewed as [rows, C], y as [rows, 2C]. One thread per input element (reads x once, writes both halves).
// Dropout (DROPOUT = true): the keep mask of output element o is philox4x32_10((o, stream, 2, 0), key).x
// mapped to (0,1) and kept when >= p (kind 2 = dropout; 0 and 1 are the engine's uniform/normal), so the
// fused op draws exactly the mask that dropout(concatElu(x)) draws. Dropped elements are written as 0.
struct Params { n: u32, c: u32, stream: u32, key0: u32, key1: u32, p: f32, scale: f32, c1: u32 }
override DROPOUT: bool = false;
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
// PAIR: the input is the channel concatenation of x [..., c1] and x2 [..., c - c1] (never materialised).
@group(0) @binding(3) var<storage, read> x2: array<f32>;
override PAIR: bool = false;
// NEGATIVE=false: only elu(x) [..., C] (elu of a channel concatenation, with PAIR), not concat_elu's [..., 2C].
override NEGATIVE: bool = true;

fn input(i: u32, r: u32) -> f32 {
  if (!PAIR) { return x[i]; }
  let j = i - r * params.c;
  if (j < params.c1) { return x[r * params.c1 + j]; }
  return x2[r * (params.c - params.c1) + j - params.c1];
}

// philox4x32_10 and to_unit come from philox_lib.wgsl (prepended by the engine).

fn keep(o: u32) -> bool {
  let w = philox4x32_10(vec4u(o, params.stream, 2u, 0u), vec2u(params.key0, params.key1));
  return to_unit(w.x) >= params.p;
}

// log1p_, expm1_, sigmoid_, softplus_ and tanh_ come from math_lib.wgsl (prepended by the engine).
// elu(a) and elu(-a) share one expm1: of -|a|, the negative one of the two (lanes of a SIMD CPU run both sides
// of a branch, so two elu_ calls would cost two).

// GROUP (1 or 4): elements per invocation. On lavapipe an invocation's fixed cost (index math, a division, the
// lanes' scalarised memory accesses) is most of an elementwise kernel's time, so 4 consecutive elements per
// invocation run ~3x faster; the engine asks for 4 where the channel counts (c, and c1 with PAIR) allow it.
// With GROUP 4 they are multiples of 4, so an invocation's 4 elements share a row r.
override GROUP: u32 = 1u;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let base = ((wid.y * nwg.x + wid.x) * 256u + lid) * GROUP;
  if (base >= params.n) { return; }
  let c = params.c;
  let r = base / c;
  for (var k = 0u; k < GROUP; k++) {
    let i = base + k;
    let o = i + r * c; // r * 2C + (i - r * C)
    let a = input(i, r);
    let e = expm1_(-abs(a));
    var y0 = select(e, a, a > 0.0);
    var y1 = select(-a, e, a >= 0.0);
    if (DROPOUT) {
      y0 = select(0.0, y0 * params.scale, keep(o));
      y1 = select(0.0, y1 * params.scale, keep(o + c));
    }
    if (!NEGATIVE) {
      y[i] = y0;
    } else {
      y[o] = y0;
      y[o + c] = y1;
    }
  }
}
