// Free bits, pass 1 (engine/ops/gaussian.ts freeBitsKL, docs/MODEL.md §3.8): one read of kl [B, H*W*Z] gives,
// per workgroup (grid: chunk x image), the partial sums per channel and the partial sum of the image.
// T = floor(256 / Z) * Z active threads, so a thread always sees the same channel (lid % Z). ITEMS and chunk_of()
// come from image_chunks_lib.wgsl; channel_sum() and tree_sum() from workgroup_reduce_lib.wgsl (both prepended by
// the engine).
struct Params { n_per_image: u32, channels: u32, n_active: u32, chunks: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> kl: array<f32>;
@group(0) @binding(2) var<storage, read_write> chan_partial: array<f32>;
@group(0) @binding(3) var<storage, read_write> img_partial: array<f32>;

var<workgroup> scratch: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let k = chunk_of(wid, lid);
  let c = params.channels;
  var acc = 0.0;
  if (lid < k.t) {
    for (var it = 0u; it < ITEMS; it++) {
      let j = k.start + it * k.t;
      if (j < k.n) { acc += kl[k.img * k.n + j]; }
    }
  }
  scratch[lid] = acc;
  workgroupBarrier();
  if (lid < c) {
    chan_partial[k.slot * c + lid] = channel_sum(lid, k.t, c);
  }
  workgroupBarrier();
  tree_sum(lid, 128u);
  if (lid == 0u) { img_partial[k.slot] = scratch[0]; }
}
