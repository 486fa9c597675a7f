// softmax and log-softmax along one axis, fused and stable: the tensor is seen as [outer, n, inner] (the axis in
// the middle), one invocation per row of n elements at stride `inner`: the row's maximum m, then
// s = sum exp(x - m), then y = exp(x - m) / s (softmax) or y = x - m - log(s) (LOG: log-softmax). Nothing is
// exponentiated above 0, so no overflow; log-softmax never takes the log of a rounded-to-0 probability.
// Params and axis_base() come from axis_rows_lib.wgsl; each_row() (the bounds check) from rows_lib.wgsl (both
// prepended by the engine).
override LOG: bool = false;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

fn row(r: u32) {
  let inner = params.inner;
  let base = axis_base(r);
  var m = x[base];
  for (var j = 1u; j < params.n; j++) { m = max(m, x[base + j * inner]); }
  var s = 0.0;
  for (var j = 0u; j < params.n; j++) { s += exp(x[base + j * inner] - m); }
  let log_s = log(s);
  for (var j = 0u; j < params.n; j++) {
    let k = base + j * inner;
    if (LOG) { y[k] = x[k] - m - log_s; } else { y[k] = exp(x[k] - m) / s; }
  }
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  each_row((wid.y * nwg.x + wid.x) * 256u + lid);
}
