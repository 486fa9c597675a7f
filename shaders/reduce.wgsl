// Reductions over any set of axes: sum, mean, max, logsumexp (OP 0..3). The input is seen as
// (kept axes) x (reduced axes) through strides, so no transpose is needed first.
// PER_THREAD=false: one 64-wide workgroup per output (long reductions; tree in workgroup memory).
// PER_THREAD=true: one invocation per output with a serial loop (many short reductions).
// logsumexp subtracts the maximum before exponentiating.
// OP comes from reduce_lib.wgsl; Params, ACCUMULATE, RANK_OUT, RANK_RED, x, y, the offsets, the strided loops
// max_from() / sum_from() and store_result() from reduce_forward_lib.wgsl; workgroup_sum() and workgroup_max() from workgroup_reduce_lib.wgsl (all prepended by the
// engine).
override PER_THREAD: bool = false;

var<workgroup> scratch: array<f32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let flat = wid.y * nwg.x + wid.x;
  if (PER_THREAD) {
    let o = flat * 64u + lid;
    if (o < params.n_out) {
      let base = base_offset(o);
      var m = neg_inf();
      if (OP >= REDUCE_MAX) { m = max_from(base, 0u, 1u); }
      var total = 0.0;
      if (OP != REDUCE_MAX) { total = sum_from(base, 0u, 1u, m); }
      store_result(o, total, m);
    }
  } else {
    reduce_workgroup(flat, lid);
  }
}

// One workgroup per output; `o` is uniform across the workgroup, so the early exit keeps barriers uniform.
fn reduce_workgroup(o: u32, lid: u32) {
  if (o >= params.n_out) { return; }
  let base = base_offset(o);
  var m = neg_inf();
  if (OP >= REDUCE_MAX) {
    workgroup_max(lid, 32u, max_from(base, lid, 64u));
    m = scratch[0];
    workgroupBarrier();
  }
  var total = 0.0;
  if (OP != REDUCE_MAX) {
    workgroup_sum(lid, 32u, sum_from(base, lid, 64u, m));
    total = scratch[0];
  }
  if (lid == 0u) { store_result(o, total, m); }
}
