// Elementwise diagonal-Gaussian ops with three same-shape inputs (engine/ops/gaussian.ts, docs/MODEL.md §3.4):
// OP 0 sample:     y = a + exp(b) * c              (a = mean, b = logStd, c = eps; reparameterised)
// OP 1 logdensity: y = -0.5 (log 2pi + 2 c + ((a - b) exp(-c))^2)   (a = z, b = mean, c = logStd)
// Params, OP and the inputs a, b, c come from gaussian3_lib.wgsl, prepended by the engine.
// element() is one element's work; each_element() (the bounds check, GROUP) comes from elementwise_lib.wgsl.
const LOG_2PI: f32 = 1.8378770664093453;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

fn element(i: u32) {
  if (OP == GAUSSIAN3_SAMPLE) {
    y[i] = a[i] + exp(b[i]) * c[i];
  } else {
    let u = (a[i] - b[i]) * exp(-c[i]);
    y[i] = -0.5 * LOG_2PI - c[i] - 0.5 * u * u;
  }
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  each_element((wid.y * nwg.x + wid.x) * 256u + lid);
}
