// Local gradients of binary.wgsl at the output shape: da[i] = g[i] * df/du, db[i] = g[i] * df/dv. The caller
// sums them over broadcast dimensions afterwards (ops/reduce.ts sumTo). maximum and minimum split ties 0.5/0.5.
struct Params {
  n: u32, rank: u32, _p0: u32, _p1: u32,
  shape: array<vec4<u32>, 2>,
  a_strides: array<vec4<u32>, 2>,
  b_strides: array<vec4<u32>, 2>,
}
override OP: u32 = 0u;
override BROADCAST: bool = true;
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<storage, read_write> da: array<f32>;
@group(0) @binding(5) var<storage, read_write> db: array<f32>;

// GROUP (1 or 4): elements per invocation; 4 on the same-shape path (see binary.wgsl).
override GROUP: u32 = 1u;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = (wid.y * nwg.x + wid.x) * 256u + lid;
  for (var k = 0u; k < GROUP; k++) {
    element(t * GROUP + k);
  }
}

fn element(i: u32) {
  if (i >= params.n) { return; }
  var ia = i;
  var ib = i;
  if (BROADCAST) {
    ia = 0u; ib = 0u;
    var rem = i;
    for (var d = i32(params.rank) - 1; d >= 0; d--) {
      let k = u32(d);
      let extent = params.shape[k / 4u][k % 4u];
      let c = rem % extent;
      rem = rem / extent;
      ia += c * params.a_strides[k / 4u][k % 4u];
      ib += c * params.b_strides[k / 4u][k % 4u];
    }
  }
  let u = a[ia];
  let v = b[ib];
  let gi = g[i];
  var gu = 0.0;
  var gv = 0.0;
  switch OP {
    case BINARY_ADD: { gu = gi; gv = gi; }
    case BINARY_SUB: { gu = gi; gv = -gi; }
    case BINARY_MUL: { gu = gi * v; gv = gi * u; }
    case BINARY_DIV: { gu = gi / v; gv = -gi * u / (v * v); }
    case BINARY_MAXIMUM: {
      if (u > v) { gu = gi; } else if (v > u) { gv = gi; } else { gu = 0.5 * gi; gv = 0.5 * gi; }
    }
    case BINARY_MINIMUM: {
      if (u < v) { gu = gi; } else if (v < u) { gv = gi; } else { gu = 0.5 * gi; gv = 0.5 * gi; }
    }
    default: { }
  }
  da[i] = gu;
  db[i] = gv;
}
