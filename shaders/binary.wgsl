// Elementwise binary ops with numpy broadcasting: out[i] = f(a[ia], b[ib]), where ia/ib come from the output
// coordinates through strides that are 0 on broadcast dimensions. BROADCAST=false is the fast path for
// operands of the output's shape. Op codes: the BINARY_* constants generated from engine/op_codes.ts; the
// comparisons give 1.0 where the relation holds, else 0.0.
struct Params {
  n: u32, rank: u32, s: f32, _p1: u32,
  shape: array<vec4<u32>, 2>,
  a_strides: array<vec4<u32>, 2>,
  b_strides: array<vec4<u32>, 2>,
}
override OP: u32 = 0u;
override BROADCAST: bool = true;
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

fn apply(u: f32, v: f32) -> f32 {
  switch OP {
    case BINARY_ADD: { return u + v; }
    case BINARY_SUB: { return u - v; }
    case BINARY_MUL: { return u * v; }
    case BINARY_DIV: { return u / v; }
    case BINARY_MAXIMUM: { return max(u, v); }
    case BINARY_ADD_SCALED: { return u + params.s * v; }
    case BINARY_MINIMUM: { return min(u, v); }
    case BINARY_EQUAL: { return select(0.0, 1.0, u == v); }
    case BINARY_NOT_EQUAL: { return select(0.0, 1.0, u != v); }
    case BINARY_LESS: { return select(0.0, 1.0, u < v); }
    case BINARY_LESS_EQUAL: { return select(0.0, 1.0, u <= v); }
    case BINARY_GREATER: { return select(0.0, 1.0, u > v); }
    case BINARY_GREATER_EQUAL: { return select(0.0, 1.0, u >= v); }
    default: { return 0.0; }
  }
}

// GROUP (1 or 4): elements per invocation; 4 on the same-shape path (an invocation's fixed cost dominates an
// elementwise kernel on lavapipe, so 4 consecutive elements per invocation run ~3x faster).
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
  y[i] = apply(a[ia], b[ib]);
}
