// dL/dlogits of cross_entropy.wgsl: dx[r, j] = dloss[r] * (exp(x[r, j] - lse[r]) - [j == label[r]]), i.e.
// (softmax - one-hot) scaled by the row's incoming gradient; a row with a label outside [0, C) gets NaN.
// One invocation per GROUP consecutive logits (4: the row and column are divided out once, not per element;
// ~4x faster on lavapipe, where an invocation's fixed cost dominates). Params, x, labels and label_outside() come
// from cross_entropy_lib.wgsl (prepended by the engine).
@group(0) @binding(3) var<storage, read> lse: array<f32>;
@group(0) @binding(4) var<storage, read> dloss: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;

override GROUP: u32 = 1u;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let first = ((wid.y * nwg.x + wid.x) * 256u + lid) * GROUP;
  if (first >= params.n) { return; }
  var r = first / params.classes;
  var j = first % params.classes;
  for (var k = 0u; k < GROUP; k++) {
    let i = first + k;
    if (i >= params.n) { return; }
    let label = labels[r];
    if (label_outside(label)) {
      dx[i] = bitcast<f32>(params.nan_bits);
    } else {
      dx[i] = dloss[r] * (exp(x[i] - lse[r]) - select(0.0, 1.0, j == u32(label)));
    }
    j++;
    if (j == params.classes) {
      j = 0u;
      r++;
    }
  }
}
