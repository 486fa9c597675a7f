// Backward of concat_elu (+ optional fused dropout), engine/ops/gated.ts. With x viewed as [rows, C] and the
// output gradient g as [rows, 2C]:
//   dx[r, c] = g[r, c] m0 scale elu'(x) - g[r, C + c] m1 scale elu'(-x),   elu'(a) = 1 (a > 0), exp(a) (a <= 0)
// The dropout masks m0, m1 are regenerated from the Philox counter exactly as in concat_elu.wgsl (kind 2).
struct Params { n: u32, c: u32, stream: u32, key0: u32, key1: u32, p: f32, scale: f32, c1: u32 }
override DROPOUT: bool = false;
// ACCUMULATE: dx += the gradient (dx is a pending gradient of x the tape lets this kernel add to).
override ACCUMULATE: bool = false;
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
// PAIR: the input was the channel concatenation of x [..., c1] and x2 [..., c - c1]; their gradients go to dx
// and dx2 (ACCUMULATE2: added to dx2).
@group(0) @binding(4) var<storage, read> x2: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx2: array<f32>;
override PAIR: bool = false;
// NEGATIVE=false: the forward was elu(x) only (g is [..., C]).
override NEGATIVE: bool = true;
override ACCUMULATE2: bool = false;

// philox4x32_10 and to_unit come from philox_lib.wgsl (prepended by the engine).

fn keep(o: u32) -> bool {
  let w = philox4x32_10(vec4u(o, params.stream, 2u, 0u), vec2u(params.key0, params.key1));
  return to_unit(w.x) >= params.p;
}

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
    let o = i + r * c;
    let j = i - r * c;
    var a = 0.0;
    if (!PAIR) { a = x[i]; } else if (j < params.c1) { a = x[r * params.c1 + j]; } else { a = x2[r * (c - params.c1) + j - params.c1]; }
    var g0 = 0.0;
    var g1 = 0.0;
    if (NEGATIVE) {
      g0 = g[o];
      g1 = g[o + c];
    } else {
      g0 = g[i];
    }
    if (DROPOUT) {
      g0 = select(0.0, g0 * params.scale, keep(o));
      g1 = select(0.0, g1 * params.scale, keep(o + c));
    }
    // elu'(a) = exp(a) for a <= 0, elu'(-a) = exp(-a) for a >= 0: both are exp(-|a|) where they apply, one exp.
    let t = exp(-abs(a));
    let d0 = select(1.0, t, a <= 0.0);
    let d1 = select(1.0, t, a >= 0.0);
    let d = g0 * d0 - g1 * d1;
    if (PAIR && j >= params.c1) {
      let k2 = r * (c - params.c1) + j - params.c1;
      if (ACCUMULATE2) { dx2[k2] += d; } else { dx2[k2] = d; }
    } else {
      var kx = i;
      if (PAIR) { kx = r * params.c1 + j; }
      if (ACCUMULATE) { dx[kx] += d; } else { dx[kx] = d; }
    }
  }
}
