// Input gradient of softmax.wgsl from its output y and dL/dy (rows as in softmax.wgsl), one invocation per row:
//   softmax:      dx = y * (dy - sum_j dy_j y_j)
//   log-softmax:  dx = dy - exp(y) * sum_j dy_j          (exp(y) is the softmax)
// Params and axis_base() come from axis_rows_lib.wgsl; each_row() (the bounds check) from rows_lib.wgsl (both
// prepended by the engine).
override LOG: bool = false;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

fn row(r: u32) {
  let inner = params.inner;
  let base = axis_base(r);
  var s = 0.0;
  for (var j = 0u; j < params.n; j++) {
    let k = base + j * inner;
    if (LOG) { s += dy[k]; } else { s += dy[k] * y[k]; }
  }
  for (var j = 0u; j < params.n; j++) {
    let k = base + j * inner;
    if (LOG) { dx[k] = dy[k] - exp(y[k]) * s; } else { dx[k] = y[k] * (dy[k] - s); }
  }
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  each_row((wid.y * nwg.x + wid.x) * 256u + lid);
}
