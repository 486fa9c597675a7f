// Backward of shaders/gaussian3.wgsl (same OP codes), g = dL/dy:
// OP 0 sample:     da = g, db = g exp(b) c, dc = g exp(b)
// OP 1 logdensity: u = (a - b) exp(-c): da = -g u exp(-c), db = g u exp(-c), dc = g (u^2 - 1)
// Params, OP and the inputs a, b, c come from gaussian3_lib.wgsl, prepended by the engine.
// element() is one element's work; each_element() (the bounds check, GROUP) comes from elementwise_lib.wgsl.
@group(0) @binding(4) var<storage, read> g: array<f32>;
@group(0) @binding(5) var<storage, read_write> da: array<f32>;
@group(0) @binding(6) var<storage, read_write> db: array<f32>;
@group(0) @binding(7) var<storage, read_write> dc: array<f32>;

fn element(i: u32) {
  let gi = g[i];
  if (OP == GAUSSIAN3_SAMPLE) {
    let sd = exp(b[i]);
    da[i] = gi;
    db[i] = gi * sd * c[i];
    dc[i] = gi * sd;
  } else {
    let inv = exp(-c[i]);
    let u = (a[i] - b[i]) * inv;
    da[i] = -gi * u * inv;
    db[i] = gi * u * inv;
    dc[i] = gi * (u * u - 1.0);
  }
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  each_element((wid.y * nwg.x + wid.x) * 256u + lid);
}
