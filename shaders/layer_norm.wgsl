// Layer normalisation over the last axis: x [rows, C] -> y = (x - mean) * rstd * gamma + beta, rstd =
// 1 / sqrt(var + eps) with the biased variance (two passes: the mean first, then the squared deviations, so no
// cancellation). AFFINE = false: no gamma / beta (bound to x, unread). One invocation per row; mean and rstd are
// kept for the backward (layer_norm_backward.wgsl).
// Params, AFFINE, x and gamma come from layer_norm_lib.wgsl; each_row() (the bounds check) from rows_lib.wgsl (both
// prepended by the engine); row() is one row's work.
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> mean: array<f32>;
@group(0) @binding(6) var<storage, read_write> rstd: array<f32>;

fn row(r: u32) {
  let c = params.c;
  let base = r * c;
  var s = 0.0;
  for (var j = 0u; j < c; j++) { s += x[base + j]; }
  let m = s / f32(c);
  var q = 0.0;
  for (var j = 0u; j < c; j++) { let d = x[base + j] - m; q += d * d; }
  let rs = inverseSqrt(q / f32(c) + params.eps);
  mean[r] = m;
  rstd[r] = rs;
  for (var j = 0u; j < c; j++) {
    let xhat = (x[base + j] - m) * rs;
    if (AFFINE) { y[base + j] = xhat * gamma[j] + beta[j]; } else { y[base + j] = xhat; }
  }
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  each_row((wid.y * nwg.x + wid.x) * 256u + lid);
}
