// Backward of gate (gate.wgsl): dresidual = g; dA = g sigmoid(B); dB = g A sigmoid(B) sigmoid(-B).
// One thread per output element writes dresidual[i] and both halves of dc2 for it.
// Params and c2 come from gate_lib.wgsl; GROUP and each_row_element() from elementwise_rows_lib.wgsl; sigmoid_ from
// math_lib.wgsl (all prepended by the engine).
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> dc2: array<f32>;
@group(0) @binding(4) var<storage, read_write> dresidual: array<f32>;
// RESIDUAL: 0 = not written (the residual's gradient is g itself, a view), 1 = dresidual += g (a pending
// gradient of the residual the tape lets this kernel add to).
override RESIDUAL: u32 = 0u;

fn row_element(i: u32, r: u32, f: u32) {
  let o = i + r * f;
  let gi = g[i];
  let a = c2[o];
  let b = c2[o + f];
  let s = sigmoid_(b);
  dc2[o] = gi * s;
  dc2[o + f] = gi * a * s * sigmoid_(-b);
  if (RESIDUAL == 1u) { dresidual[i] += gi; }
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  each_row_element((wid.y * nwg.x + wid.x) * 256u + lid, params.f);
}
