// Elementwise unary ops and tensor-scalar ops, y = f(x, s). The op is an override constant (codes in
// engine/ops/elementwise.ts). Numerically stable forms: sigmoid and softplus never exp() a large positive
// number; elu uses an accurate expm1; softplus an accurate log1p (WGSL has neither).
struct Params { n: u32, s: f32, _p0: u32, _p1: u32 }
override OP: u32 = 0u;
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

// log1p_, expm1_, sigmoid_, softplus_ and tanh_ come from math_lib.wgsl (prepended by the engine).

fn apply(a: f32, s: f32) -> f32 {
  switch OP {
    case 0u: { return -a; }
    case 1u: { return exp(a); }
    case 2u: { if (abs(a - 1.0) <= 0.4) { return log1p_(a - 1.0); } return log(a); } // a - 1 is exact there (Sterbenz)
    case 3u: { return sqrt(a); }
    case 4u: { return a * a; }
    case 5u: { return sigmoid_(a); }
    case 6u: { return tanh_(a); }
    case 7u: { if (a > 0.0) { return a; } return expm1_(a); }
    case 8u: { return softplus_(a); }
    case 9u: { return abs(a); }
    case 20u: { return a + s; }
    case 21u: { return a - s; }
    case 22u: { return s - a; }
    case 23u: { return a * s; }
    case 24u: { return a / s; }
    case 25u: { return s / a; }
    case 26u: { return max(a, s); }
    case 27u: { return pow(a, s); }
    case 28u: { return a; }
    default: { return 0.0; }
  }
}

// GROUP (1 or 4): elements per invocation. On lavapipe an invocation's fixed cost (index math, a division, the
// lanes' scalarised memory accesses) is most of an elementwise kernel's time, so 4 consecutive elements per
// invocation run ~3x faster; the engine asks for 4 where the element count (and channel count) allow it.
override GROUP: u32 = 1u;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = (wid.y * nwg.x + wid.x) * 256u + lid;
  for (var k = 0u; k < GROUP; k++) {
    let i = t * GROUP + k;
    if (i >= params.n) { return; }
    y[i] = apply(x[i], params.s);
  }
}
