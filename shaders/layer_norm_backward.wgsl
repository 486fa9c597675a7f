// Gradients of layer_norm.wgsl, one invocation per row, from the saved mean and rstd (xhat = (x - mean) rstd,
// dxhat = dy * gamma, or dy without AFFINE):
//   dx = rstd * (dxhat - mean_j(dxhat) - xhat * mean_j(dxhat * xhat))
// and, with AFFINE, dy * xhat per element into `dyxhat` (summed over rows it is dgamma; dbeta is dy summed).
// Params, AFFINE, x and gamma come from layer_norm_lib.wgsl; each_row() (the bounds check) from rows_lib.wgsl (both
// prepended by the engine); row() is one row's work.
@group(0) @binding(3) var<storage, read> mean: array<f32>;
@group(0) @binding(4) var<storage, read> rstd: array<f32>;
@group(0) @binding(5) var<storage, read> dy: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;
@group(0) @binding(7) var<storage, read_write> dyxhat: array<f32>;

fn dxhat(k: u32, j: u32) -> f32 {
  if (AFFINE) { return dy[k] * gamma[j]; }
  return dy[k];
}

fn row(r: u32) {
  let c = params.c;
  let base = r * c;
  let m = mean[r];
  let rs = rstd[r];
  var s1 = 0.0;
  var s2 = 0.0;
  for (var j = 0u; j < c; j++) {
    let g = dxhat(base + j, j);
    s1 += g;
    s2 += g * (x[base + j] - m) * rs;
  }
  let c1 = s1 / f32(c);
  let c2 = s2 / f32(c);
  for (var j = 0u; j < c; j++) {
    let k = base + j;
    let xhat = (x[k] - m) * rs;
    dx[k] = rs * (dxhat(k, j) - c1 - xhat * c2);
    if (AFFINE) { dyxhat[k] = dy[k] * xhat; }
  }
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  each_row((wid.y * nwg.x + wid.x) * 256u + lid);
}
