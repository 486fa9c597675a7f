// Backward of gate (gate.wgsl): dresidual = g; dA = g sigmoid(B); dB = g A sigmoid(B) sigmoid(-B).
// One thread per output element writes dresidual[i] and both halves of dc2 for it.
struct Params { n: u32, f: u32, _p0: u32, _p1: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> c2: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> dc2: array<f32>;
@group(0) @binding(4) var<storage, read_write> dresidual: array<f32>;
// RESIDUAL: 0 = not written (the residual's gradient is g itself, a view), 1 = dresidual += g (a pending
// gradient of the residual the tape lets this kernel add to).
override RESIDUAL: u32 = 0u;

// log1p_, expm1_, sigmoid_, softplus_ and tanh_ come from math_lib.wgsl (prepended by the engine).

// GROUP (1 or 4): elements per invocation. On lavapipe an invocation's fixed cost (index math, a division, the
// lanes' scalarised memory accesses) is most of an elementwise kernel's time, so 4 consecutive elements per
// invocation run ~3x faster; the engine asks for 4 where the channel count F allow it.
// With GROUP 4, F is a multiple of 4, so an invocation's 4 elements share a row.
override GROUP: u32 = 1u;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let base = ((wid.y * nwg.x + wid.x) * 256u + lid) * GROUP;
  if (base >= params.n) { return; }
  let f = params.f;
  let r = base / f;
  for (var k = 0u; k < GROUP; k++) {
    let i = base + k;
    let o = i + r * f;
    let gi = g[i];
    let a = c2[o];
    let b = c2[o + f];
    let s = sigmoid_(b);
    dc2[o] = gi * s;
    dc2[o + f] = gi * a * s * sigmoid_(-b);
    if (RESIDUAL == 1u) { dresidual[i] += gi; }
  }
}
