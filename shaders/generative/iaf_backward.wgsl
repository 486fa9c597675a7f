// Backward of z' = (z - 0.1 m) exp(-0.1 s), log_det = 0.1 s (shaders/iaf.wgsl), g = dL/dz', gl = dL/dlog_det:
//   dz = g exp(-0.1 s),  dm = -0.1 g exp(-0.1 s),  ds = -0.1 g z' + 0.1 gl
// Params and the inputs z, m, s come from iaf_lib.wgsl, prepended by the engine.
// element() is one element's work; each_element() (the bounds check, GROUP) comes from elementwise_lib.wgsl.
@group(0) @binding(4) var<storage, read> g: array<f32>;
@group(0) @binding(5) var<storage, read> g_log_det: array<f32>;
@group(0) @binding(6) var<storage, read_write> dz: array<f32>;
@group(0) @binding(7) var<storage, read_write> dm: array<f32>;
@group(0) @binding(8) var<storage, read_write> ds: array<f32>;

fn element(i: u32) {
  let e = exp(-0.1 * s[i]);
  let gi = g[i];
  let zo = (z[i] - 0.1 * m[i]) * e;
  dz[i] = gi * e;
  dm[i] = -0.1 * gi * e;
  ds[i] = -0.1 * gi * zo + 0.1 * g_log_det[i];
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  each_element((wid.y * nwg.x + wid.x) * 256u + lid);
}
