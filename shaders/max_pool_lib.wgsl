// Declarations both max-pool kernels share (max_pool, max_pool_backward), prepended to each by the engine
// (engine/kernels.ts DECLARATION_LIBS): the pooling geometry (NHWC x [B, h, w, c] -> y [B, oh, ow, c], window kh x kw,
// stride (sh, sw), pad_top / pad_left), total = the invocations' elements, GROUP consecutive channels per invocation.
struct Params {
  total: u32, h: u32, w: u32, c: u32,
  oh: u32, ow: u32, kh: u32, kw: u32,
  sh: u32, sw: u32, pad_top: u32, pad_left: u32,
}
override GROUP: u32 = 1u;
@group(0) @binding(0) var<uniform> params: Params;

// Invocation inv's GROUP channels t .. t + GROUP - 1 (none when t is past total), through the kernel's
// fn channels(t: u32, ch: u32, pix: u32): t at channel ch of pixel pix.
fn each_channel_group(inv: u32) {
  let t = inv * GROUP;
  if (t < params.total) { channels(t, t % params.c, t / params.c); }
}

// Pixel pix of a [B, h, w] grid as (x, y, batch).
fn pixel_xyb(pix: u32, w: u32, h: u32) -> vec3u {
  return vec3u(pix % w, (pix / w) % h, pix / (w * h));
}
