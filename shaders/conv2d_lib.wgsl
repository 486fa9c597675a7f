// Declarations every conv2d kernel shares (conv2d_direct, conv2d_tiled, conv2d_wgrad_kpar and the conv2d_naive_*
// reference kernels), prepended to each by the engine (engine/kernels.ts DECLARATION_LIBS). The geometry of one
// convolution on NHWC images: x [B, H, W, Cin] -> y [B, Ho, Wo, Cout] with a weight [T, Cin, Cout] over a "tap
// list" that generalises the kernel window: tap t is at (kh, kw) = (taps[t] >> 16, taps[t] & 0xffff), so masked /
// shifted kernels never load a zero tap. Each kernel binds its operands lhs (1) and rhs (2) itself: f32 arrays,
// or vec4 ones in conv2d_wgrad_kpar. HAS_BIAS: out += bias[channel] (bias is bound either way). STRIDE: the stride
// as a pipeline constant, for the kernels that specialise on it (direct, tiled, wgrad_kpar; the naive ones read
// params.stride).
struct Params {
  B: u32, H: u32, W: u32, Cin: u32,
  Ho: u32, Wo: u32, Cout: u32, T: u32,
  stride: u32, pad_top: u32, pad_left: u32, k_chunk: u32,
  taps: array<vec4<u32>, 7>,
}
override HAS_BIAS: bool = false;
override STRIDE: u32 = 1u;
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

fn tap(t: u32) -> vec2i {
  let v = params.taps[t / 4u][t % 4u];
  return vec2i(i32(v >> 16u), i32(v & 0xffffu));
}

// The 8x8 register block of the register-blocked kernels (conv2d_direct, conv2d_wgrad_kpar): rows 4h + q of
// acc<h><j>[q], columns 4j .. 4j + 3 (4 mat4x4 accumulators), and its K step: 64 FMAs of A rows (a0, a1) by B
// columns (b0, b1).
var<private> acc00: mat4x4<f32>;
var<private> acc01: mat4x4<f32>;
var<private> acc10: mat4x4<f32>;
var<private> acc11: mat4x4<f32>;

fn fma_block(a0: vec4f, a1: vec4f, b0: vec4f, b1: vec4f) {
  acc00[0] = fma(vec4f(a0.x), b0, acc00[0]); acc01[0] = fma(vec4f(a0.x), b1, acc01[0]);
  acc00[1] = fma(vec4f(a0.y), b0, acc00[1]); acc01[1] = fma(vec4f(a0.y), b1, acc01[1]);
  acc00[2] = fma(vec4f(a0.z), b0, acc00[2]); acc01[2] = fma(vec4f(a0.z), b1, acc01[2]);
  acc00[3] = fma(vec4f(a0.w), b0, acc00[3]); acc01[3] = fma(vec4f(a0.w), b1, acc01[3]);
  acc10[0] = fma(vec4f(a1.x), b0, acc10[0]); acc11[0] = fma(vec4f(a1.x), b1, acc11[0]);
  acc10[1] = fma(vec4f(a1.y), b0, acc10[1]); acc11[1] = fma(vec4f(a1.y), b1, acc11[1]);
  acc10[2] = fma(vec4f(a1.z), b0, acc10[2]); acc11[2] = fma(vec4f(a1.z), b1, acc11[2]);
  acc10[3] = fma(vec4f(a1.w), b0, acc10[3]); acc11[3] = fma(vec4f(a1.w), b1, acc11[3]);
}
