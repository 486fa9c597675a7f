// argmax / argmin (MIN) along one axis: the tensor seen as [outer, n, inner], one invocation per row of n
// elements at stride `inner`, writing the int32 index of the row's largest (smallest) element; ties give the
// first index, as numpy and PyTorch; NaN elements are skipped (an all-NaN row gives 0).
// Params and axis_base() come from axis_rows_lib.wgsl; each_row() (the bounds check) from rows_lib.wgsl (both
// prepended by the engine).
override MIN: bool = false;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<i32>;

fn row(r: u32) {
  let inner = params.inner;
  let base = axis_base(r);
  var best = 0u;
  var found = false;
  var v = 0.0;
  for (var j = 0u; j < params.n; j++) {
    let u = x[base + j * inner];
    // NaN fails both comparisons below and the equality test (bit patterns: compilers may assume no NaN).
    let is_nan = (bitcast<u32>(u) & 0x7fffffffu) > 0x7f800000u;
    if (is_nan) { continue; }
    if (!found || (MIN && u < v) || (!MIN && u > v)) {
      best = j;
      v = u;
      found = true;
    }
  }
  y[r] = i32(best);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  each_row((wid.y * nwg.x + wid.x) * 256u + lid);
}
