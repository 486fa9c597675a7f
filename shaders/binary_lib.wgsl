// Declarations both binary kernels share (binary, binary_backward), prepended to each by the engine (engine/kernels.ts
// DECLARATION_LIBS): numpy broadcasting of the operands a and b to the output's shape, through strides that are 0
// on broadcast dimensions. BROADCAST=false is the fast path for operands of the output's shape. Op codes: the
// BINARY_* constants generated from engine/op_codes.ts; s is the factor of BINARY_ADD_SCALED (forward only).
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

// The indices (in a, in b) of the operands of output element i.
fn operand_indices(i: u32) -> vec2u {
  if (!BROADCAST) { return vec2u(i, i); }
  var ia = 0u;
  var ib = 0u;
  var rem = i;
  for (var d = i32(params.rank) - 1; d >= 0; d--) {
    let k = u32(d);
    let extent = params.shape[k / 4u][k % 4u];
    let c = rem % extent;
    rem = rem / extent;
    ia += c * params.a_strides[k / 4u][k % 4u];
    ib += c * params.b_strides[k / 4u][k % 4u];
  }
  return vec2u(ia, ib);
}
