// One-hot encoding: indices int32 [m] -> y [m, depth] float32, y[r, j] = 1 where j == indices[r], else 0 (an
// index outside [0, depth) gives a row of zeros, as TensorFlow's one_hot). One invocation per output element.
// element() is one element's work; each_element() (the bounds check, GROUP) comes from elementwise_lib.wgsl.
struct Params { n: u32, depth: u32, _p0: u32, _p1: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> indices: array<i32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

fn element(i: u32) {
  let k = indices[i / params.depth];
  y[i] = select(0.0, 1.0, k >= 0 && u32(k) == i % params.depth);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  each_element((wid.y * nwg.x + wid.x) * 256u + lid);
}
