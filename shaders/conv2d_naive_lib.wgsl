// Declarations the reference-grade conv2d kernels share (conv2d_naive_fwd, conv2d_naive_dgrad, conv2d_naive_wgrad),
// prepended to each after conv2d_lib.wgsl by the engine (engine/kernels.ts DECLARATION_LIBS): their f32 operands,
// and where element i of an NHWC tensor lies (one invocation per element).
@group(0) @binding(1) var<storage, read> lhs: array<f32>;
@group(0) @binding(2) var<storage, read> rhs: array<f32>;

// Element i of an NHWC tensor [B, h, w, c]: (batch, y, x, channel).
fn nhwc(i: u32, h: u32, w: u32, c: u32) -> vec4u {
  let ch = i % c;
  var r = i / c;
  let x = r % w; r = r / w;
  let y = r % h;
  return vec4u(r / h, y, x, ch);
}
