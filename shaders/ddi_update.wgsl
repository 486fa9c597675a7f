// Data-dependent init of a weight-normalised layer (Salimans & Kingma 2016; docs/MODEL.md §2.7, §3.6): from the
// per-channel mean m and variance v of the layer's pre-activations on the init batch,
//   scale = init_scale / sqrt(v + 1e-10);  g <- g * scale;  b <- scale * (b - m)
// so the re-run layer outputs scale * (t - m). A channel with (near) zero variance keeps scale 1 and only has
// its mean removed (docs/MODEL.md pitfall 20: a literal 1/sqrt(1e-10) = 1e5 gain diverges).
// element() is one element's work; each_element() (the bounds check, GROUP) comes from elementwise_lib.wgsl.
struct Params { n: u32, init_scale: f32, min_var: f32, _p0: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> mean: array<f32>;
@group(0) @binding(2) var<storage, read> variance: array<f32>;
@group(0) @binding(3) var<storage, read_write> g: array<f32>;
@group(0) @binding(4) var<storage, read_write> b: array<f32>;

fn element(i: u32) {
  let v = variance[i];
  var scale = 1.0;
  if (v > params.min_var) { scale = params.init_scale / sqrt(v + 1e-10); }
  g[i] = g[i] * scale;
  b[i] = scale * (b[i] - mean[i]);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  each_element((wid.y * nwg.x + wid.x) * 256u + lid);
}
