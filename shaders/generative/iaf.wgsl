// IAF step, code form of the IAF-VAE (docs/MODEL.md §3.4 item 7, §3.5): with m, s from the AR-NN,
//   z' = (z - 0.1 m) / exp(0.1 s),   log_det = 0.1 s   (added to log q: log q(z') = log q(z) + sum 0.1 s).
// Params and the inputs z, m, s come from iaf_lib.wgsl, prepended by the engine.
// element() is one element's work; each_element() (the bounds check, GROUP) comes from elementwise_lib.wgsl.
@group(0) @binding(4) var<storage, read_write> z_out: array<f32>;
@group(0) @binding(5) var<storage, read_write> log_det: array<f32>;

fn element(i: u32) {
  z_out[i] = (z[i] - 0.1 * m[i]) * exp(-0.1 * s[i]);
  log_det[i] = 0.1 * s[i];
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  each_element((wid.y * nwg.x + wid.x) * 256u + lid);
}
