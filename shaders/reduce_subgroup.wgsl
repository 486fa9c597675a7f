// Reductions with subgroup operations (the `subgroup` candidate of engine/ops/reduce.ts; needs the adapter
// feature `subgroups`: the registry opens the kernel with `enable subgroups;`): sum, mean, max, logsumexp (OP as shaders/reduce.wgsl), one 64-wide workgroup per output.
// Each invocation folds a strided share of the reduced extent, then subgroupAdd / subgroupMax combine a subgroup's
// lanes in registers (no workgroup-memory tree, no log2(64) barriers); one lane per subgroup leaves the partial in
// workgroup memory and invocation 0 folds those. A lane's slot is its own index (non-electing lanes leave the
// identity), so nothing assumes how the device lays subgroups over the workgroup or what size they are.
// logsumexp subtracts the maximum before exponentiating. ACCUMULATE adds to y instead of overwriting.
// The input is (kept axes) x (reduced axes) through strides; RANK_OUT / RANK_RED as in reduce.wgsl. OP and
// strided_offset() come from reduce_lib.wgsl (prepended by the engine).
struct Params {
  n_out: u32, n_red: u32, rank_out: u32, rank_red: u32,
  out_shape: array<vec4<u32>, 2>,
  out_strides: array<vec4<u32>, 2>,
  red_shape: array<vec4<u32>, 2>,
  red_strides: array<vec4<u32>, 2>,
}
override ACCUMULATE: bool = false;
override RANK_OUT: u32;
override RANK_RED: u32;
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

var<workgroup> partial: array<f32, 64>;

const NEG_BIG: f32 = -3.40282e38;

// The whole workgroup's max (max = true) or sum of `v`; every invocation gets it.
fn workgroup_fold(v: f32, lid: u32, sid: u32, is_max: bool) -> f32 {
  var s: f32;
  if (is_max) { s = subgroupMax(v); } else { s = subgroupAdd(v); }
  var mine = 0.0;
  if (is_max) { mine = NEG_BIG; }
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
  let base = strided_offset(o, RANK_OUT, params.out_shape, params.out_strides);
  var m = NEG_BIG;
  if (OP >= REDUCE_MAX) {
    var local_max = NEG_BIG;
    for (var r = lid; r < params.n_red; r += 64u) { local_max = max(local_max, x[base + strided_offset(r, RANK_RED, params.red_shape, params.red_strides)]); }
    m = workgroup_fold(local_max, lid, sid, true);
  }
  var total = 0.0;
  if (OP != REDUCE_MAX) {
    var local_sum = 0.0;
    for (var r = lid; r < params.n_red; r += 64u) {
      let v = x[base + strided_offset(r, RANK_RED, params.red_shape, params.red_strides)];
      if (OP == REDUCE_LOGSUMEXP) { local_sum += exp(v - m); } else { local_sum += v; }
    }
    total = workgroup_fold(local_sum, lid, sid, false);
  }
  if (lid == 0u) {
    var result = total;
    switch OP {
      case REDUCE_MEAN: { result = total / f32(params.n_red); }
      case REDUCE_MAX: { result = m; }
      case REDUCE_LOGSUMEXP: { result = m + log(total); }
      default: {}
    }
    if (ACCUMULATE) { y[o] += result; } else { y[o] = result; }
  }
}
