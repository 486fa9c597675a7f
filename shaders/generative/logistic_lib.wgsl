// Declarations both discretized-logistic kernels share (logistic, logistic_backward), prepended to each by the
// engine (engine/kernels.ts DECLARATION_LIBS): the layout (per-image data [B, n_per_image], channels-last, one
// log-scale per channel, on the (chunk, image) grid of image_chunks_lib.wgsl) and the bin of a value.
struct Params { n_per_image: u32, channels: u32, n_active: u32, chunks: u32, levels: u32, cw: f32, _p0: u32, _p1: u32 }
override TAILS: bool = false;
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> mean: array<f32>;
@group(0) @binding(2) var<storage, read> log_scale: array<f32>;
@group(0) @binding(3) var<storage, read> pixels: array<f32>;

// The bin of yv (bin k = min(floor(y / c), K - 1) of width cw = c / 256) in standard units: its edges
// a = (lower - mu) / s, b = (lower + cw - mu) / s, and (TAILS) whether they are -inf (bin 0) or +inf (bin K - 1).
struct Bin { a: f32, b: f32, lo_inf: bool, hi_inf: bool }

fn bin_of(yv: f32, mu: f32, inv_s: f32) -> Bin {
  let kmax = params.levels - 1u;
  let k = min(u32(max(floor(yv / (256.0 * params.cw)), 0.0)), kmax);
  let lower = f32(k) * params.cw - 0.5;
  return Bin((lower - mu) * inv_s, (lower + params.cw - mu) * inv_s, TAILS && k == 0u, TAILS && k == kmax);
}
