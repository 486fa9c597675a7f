// Gated-resnet output, engine/ops/gated.ts: y[r, f] = residual[r, f] + A[r, f] * sigmoid(B[r, f]). One thread
// per output (GROUP of them per invocation: with GROUP 4, F is a multiple of 4).
// Params and c2 come from gate_lib.wgsl; GROUP and each_row_element() from elementwise_rows_lib.wgsl; sigmoid_ from
// math_lib.wgsl (all prepended by the engine).
@group(0) @binding(2) var<storage, read> residual: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

fn row_element(i: u32, r: u32, f: u32) {
  let o = i + r * f; // index of A[r, i - r F] in c2
  y[i] = residual[i] + c2[o] * sigmoid_(c2[o + f]);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  each_row_element((wid.y * nwg.x + wid.x) * 256u + lid, params.f);
}
