// y *= s in place (loss scaling: the gradients of a loss scaled by S are unscaled by 1/S before the update).
// element() is one element's work; each_element() (the bounds check, GROUP) comes from elementwise_lib.wgsl.
struct Params { n: u32, s: f32, _p0: u32, _p1: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;

fn element(i: u32) {
  y[i] = y[i] * params.s;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  each_element((wid.y * nwg.x + wid.x) * 256u + lid);
}
