// Backward of concat_elu (+ optional fused dropout), engine/ops/gated.ts. With x viewed as [rows, C] and the
// output gradient g as [rows, 2C]:
//   dx[r, c] = g[r, c] m0 scale elu'(x) - g[r, C + c] m1 scale elu'(-x),   elu'(a) = 1 (a > 0), exp(a) (a <= 0)
// The dropout masks m0, m1 are regenerated from the Philox counter exactly as in concat_elu.wgsl (kind 2).
struct Params { n: u32, c: u32, stream: u32, key0: u32, key1: u32, p: f32, scale: f32, _p0: u32 }
override DROPOUT: bool = false;
// ACCUMULATE: dx += the gradient (dx is a pending gradient of x the tape lets this kernel add to).
override ACCUMULATE: bool = false;
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

// philox4x32_10 and to_unit come from philox_lib.wgsl (prepended by the engine).

fn keep(o: u32) -> bool {
  let w = philox4x32_10(vec4u(o, params.stream, 2u, 0u), vec2u(params.key0, params.key1));
  return to_unit(w.x) >= params.p;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (i >= params.n) { return; }
  let c = params.c;
  let r = i / c;
  let o = i + r * c;
  let a = x[i];
  var g0 = g[o];
  var g1 = g[o + c];
  if (DROPOUT) {
    g0 = select(0.0, g0 * params.scale, keep(o));
    g1 = select(0.0, g1 * params.scale, keep(o + c));
  }
  var d0 = 1.0;
  var d1 = 1.0;
  if (a <= 0.0) { d0 = exp(a); }
  if (a >= 0.0) { d1 = exp(-a); }
  let d = g0 * d0 - g1 * d1;
  if (ACCUMULATE) { dx[i] += d; } else { dx[i] = d; }
}
