// Cross-entropy of logits against integer labels, fused and stable: logits [rows, C] (classes last, contiguous),
// labels int32 [rows]; one invocation per row writes lse = m + log(sum exp(x - m)) (m the row's maximum) and
// loss = lse - x[label], i.e. -log softmax(x)[label] without forming the probabilities. A label outside [0, C)
// gives a NaN loss (and NaN gradients: cross_entropy_backward.wgsl), never a read out of bounds. lse is kept for
// the backward.
// Params, x, labels and label_outside() come from cross_entropy_lib.wgsl; each_row() (the bounds check) from
// rows_lib.wgsl (both prepended by the engine); row() is one row's work.
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;
@group(0) @binding(4) var<storage, read_write> lse: array<f32>;

fn row(r: u32) {
  let c = params.classes;
  let base = r * c;
  var m = x[base];
  for (var j = 1u; j < c; j++) { m = max(m, x[base + j]); }
  var s = 0.0;
  for (var j = 0u; j < c; j++) { s += exp(x[base + j] - m); }
  let l = m + log(s);
  lse[r] = l;
  let label = labels[r];
  if (label_outside(label)) {
    loss[r] = bitcast<f32>(params.nan_bits); // NaN: WGSL has no NaN literal, so its bits come as a parameter
  } else {
    loss[r] = l - x[base + u32(label)];
  }
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  each_row((wid.y * nwg.x + wid.x) * 256u + lid);
}
