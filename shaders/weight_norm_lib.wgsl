// Declarations both weight-norm kernels share (weight_norm, weight_norm_backward), prepended to each by the engine
// (engine/kernels.ts DECLARATION_LIBS): the channel table of engine/weight_norm.ts and where a channel's element
// r lies in the parameter arena, and the inputs both read: the table, the parameter arena v and the masks.
struct Params { n_channels: u32, _p0: u32, _p1: u32, _p2: u32 }
struct Channel { v0: u32, inner: u32, outer_stride: u32, r: u32, g: u32, mask_delta: u32, has_mask: u32, _p: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> table: array<Channel>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> mask: array<f32>;

fn element(c: Channel, r: u32) -> u32 {
  return c.v0 + (r / c.inner) * c.outer_stride + (r % c.inner);
}
