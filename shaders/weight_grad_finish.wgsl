// The two reductions that end a weight gradient computed in K chunks, in one dispatch (engine/ops/weight_grad.ts;
// used by conv2d, convTranspose2d and the nin/dense matmul): the sum over the chunks (dw[i] = sum_s partial[s, i],
// one invocation per element) and the bias gradient (db[c] = sum_p dy[p, c] over all pixels or rows, one
// workgroup per channel, a tree in workgroup memory). Workgroups [0, dw_groups) do the first, the next
// `channels` workgroups the second. ACCUMULATE_DB adds to db (a leaf's .grad that already holds a gradient)
// instead of overwriting it. workgroup_sum() comes from workgroup_reduce_lib.wgsl (prepended by the engine).
struct Params { n_w: u32, splits: u32, dw_groups: u32, channels: u32, pixels: u32, _p0: u32, _p1: u32, _p2: u32 }
override ACCUMULATE_DB: bool = false;
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> partial: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dw: array<f32>;
@group(0) @binding(4) var<storage, read_write> db: array<f32>;

var<workgroup> scratch: array<f32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let k = wid.y * nwg.x + wid.x;
  if (k < params.dw_groups) {
    let i = k * 64u + lid;
    if (i < params.n_w) {
      var s = 0.0;
      for (var j = 0u; j < params.splits; j++) { s += partial[j * params.n_w + i]; }
      dw[i] = s;
    }
    return;
  }
  let c = k - params.dw_groups;
  if (c >= params.channels) { return; }
  var s = 0.0;
  for (var p = lid; p < params.pixels; p += 64u) { s += dy[p * params.channels + c]; }
  workgroup_sum(lid, 32u, s);
  if (lid == 0u) {
    if (ACCUMULATE_DB) { db[c] += scratch[0]; } else { db[c] = scratch[0]; }
  }
}
