// Free bits, pass 2 (one workgroup): from the partials of shaders/free_bits_stats.wgsl,
//   channel_kl[c] = (1/B) sum over partials of chan_partial[., c]   (batch mean of the (h, w) sums)
//   objective     = sum_c max(channel_kl[c], kl_min)
//   true_kl[b]    = sum over the image's chunks of img_partial
// workgroup_sum() comes from workgroup_reduce_lib.wgsl (prepended by the engine).
struct Params { channels: u32, parts: u32, batch: u32, chunks: u32, kl_min: f32, _p0: u32, _p1: u32, _p2: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> chan_partial: array<f32>;
@group(0) @binding(2) var<storage, read> img_partial: array<f32>;
@group(0) @binding(3) var<storage, read_write> objective: array<f32>;
@group(0) @binding(4) var<storage, read_write> true_kl: array<f32>;
@group(0) @binding(5) var<storage, read_write> channel_kl: array<f32>;

var<workgroup> scratch: array<f32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) lid: u32) {
  let z = params.channels;
  var s = 0.0;
  for (var c = lid; c < z; c += 64u) {
    var k = 0.0;
    for (var p = 0u; p < params.parts; p++) { k += chan_partial[p * z + c]; }
    k = k / f32(params.batch);
    channel_kl[c] = k;
    s += max(k, params.kl_min);
  }
  for (var b = lid; b < params.batch; b += 64u) {
    var t = 0.0;
    for (var q = 0u; q < params.chunks; q++) { t += img_partial[b * params.chunks + q]; }
    true_kl[b] = t;
  }
  workgroup_sum(lid, 32u, s);
  if (lid == 0u) { objective[0] = scratch[0]; }
}
