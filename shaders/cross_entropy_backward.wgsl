// dL/dlogits of cross_entropy.wgsl, one invocation per logit: dx[r, j] = dloss[r] * (exp(x[r, j] - lse[r]) - [j == label[r]]),
// i.e. (softmax - one-hot) scaled by the row's incoming gradient; a row with a label outside [0, C) gets NaN.
struct Params { n: u32, classes: u32, nan_bits: u32, _p0: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<i32>;
@group(0) @binding(3) var<storage, read> lse: array<f32>;
@group(0) @binding(4) var<storage, read> dloss: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (i >= params.n) { return; }
  let r = i / params.classes;
  let j = i % params.classes;
  let label = labels[r];
  if (label < 0 || u32(label) >= params.classes) {
    dx[i] = bitcast<f32>(params.nan_bits);
    return;
  }
  let p = exp(x[i] - lse[r]);
  dx[i] = dloss[r] * (p - select(0.0, 1.0, j == u32(label)));
}
