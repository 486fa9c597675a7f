// Reductions with subgroup operations (the `subgroup` candidate of engine/ops/reduce.ts; needs the adapter
// feature `subgroups`: the registry opens the kernel with `enable subgroups;`): sum, mean, max, logsumexp (OP as shaders/reduce.wgsl), one 64-wide workgroup per output.
// Each invocation folds a strided share of the reduced extent, then subgroupAdd / subgroupMax combine a subgroup's
// lanes in registers (no workgroup-memory tree, no log2(64) barriers); one lane per subgroup leaves the partial in
// workgroup memory and invocation 0 folds those. A lane's slot is its own index (non-electing lanes leave the
// identity), so nothing assumes how the device lays subgroups over the workgroup or what size they are.
// logsumexp subtracts the maximum before exponentiating. ACCUMULATE adds to y instead of overwriting.
// OP comes from reduce_lib.wgsl; Params, ACCUMULATE, RANK_OUT, RANK_RED, x, y, the offsets, the strided loops
// max_from() / sum_from() and store_result() from reduce_forward_lib.wgsl (both prepended by the engine).
var<workgroup> partial: array<f32, 64>;

// The whole workgroup's max (max = true) or sum of `v`; every invocation gets it.
fn workgroup_fold(v: f32, lid: u32, sid: u32, is_max: bool) -> f32 {
  var s: f32;
  if (is_max) { s = subgroupMax(v); } else { s = subgroupAdd(v); }
  var mine = 0.0;
  if (is_max) { mine = neg_inf(); }
  if (sid == 0u) { mine = s; }
  partial[lid] = mine;
  workgroupBarrier();
  if (lid == 0u) {
    var acc = partial[0];
    for (var k = 1u; k < 64u; k++) { if (is_max) { acc = max(acc, partial[k]); } else { acc += partial[k]; } }
    partial[0] = acc;
  }
  workgroupBarrier();
  let total = partial[0];
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_invocation_id) sid: u32) {
  let o = wid.y * nwg.x + wid.x;
  // o is the same for the whole workgroup: the early exit keeps barriers and subgroup operations uniform.
  if (o >= params.n_out) { return; }
  let base = base_offset(o);
  var m = neg_inf();
  if (OP >= REDUCE_MAX) {
    m = workgroup_fold(max_from(base, lid, 64u), lid, sid, true);
  }
  var total = 0.0;
  if (OP != REDUCE_MAX) {
    total = workgroup_fold(sum_from(base, lid, 64u, m), lid, sid, false);
  }
  if (lid == 0u) { store_result(o, total, m); }
}
