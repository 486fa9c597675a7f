// where(cond, a, b) with numpy broadcasting of all three operands: y[i] = cond != 0 ? a : b, each operand read
// through strides that are 0 on its broadcast dimensions. Only the chosen operand's value reaches y, so NaN or
// Inf in the other never does. Its backward is this kernel again (the gradient where chosen, else 0).
// element() is one element's work; each_element() (the bounds check, GROUP) comes from elementwise_lib.wgsl.
struct Params {
  n: u32, _p0: u32, _p1: u32, _p2: u32,
  shape: array<vec4<u32>, 2>,
  c_strides: array<vec4<u32>, 2>,
  a_strides: array<vec4<u32>, 2>,
  b_strides: array<vec4<u32>, 2>,
}
// The output's rank (a pipeline constant: the index loop unrolls).
override RANK: u32;
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> cond: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

fn element(i: u32) {
  var rem = i;
  var ic = 0u;
  var ia = 0u;
  var ib = 0u;
  for (var d = 0u; d < RANK; d++) {
    let k = RANK - 1u - d;
    let extent = params.shape[k / 4u][k % 4u];
    let c = rem % extent;
    rem = rem / extent;
    ic += c * params.c_strides[k / 4u][k % 4u];
    ia += c * params.a_strides[k / 4u][k % 4u];
    ib += c * params.b_strides[k / 4u][k % 4u];
  }
  if (cond[ic] != 0.0) { y[i] = a[ia]; } else { y[i] = b[ib]; }
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  each_element((wid.y * nwg.x + wid.x) * 256u + lid);
}
