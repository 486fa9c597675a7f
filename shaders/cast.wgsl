// Element type conversion between float32 and int32 tensors, on the raw 32-bit words: float -> int rounds toward
// zero (WGSL's i32(f32) saturates outside the int32 range), int -> float is exact below 2^24. With
// FROM_INT == TO_INT it copies the words.
// element() is one element's work; each_element() (the bounds check, GROUP) comes from elementwise_lib.wgsl.
struct Params { n: u32, _p0: u32, _p1: u32, _p2: u32 }
override FROM_INT: bool = false;
override TO_INT: bool = false;
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<u32>;

fn element(i: u32) {
  let w = x[i];
  if (FROM_INT == TO_INT) {
    y[i] = w;
  } else if (TO_INT) {
    y[i] = bitcast<u32>(i32(bitcast<f32>(w)));
  } else {
    y[i] = bitcast<u32>(f32(bitcast<i32>(w)));
  }
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  each_element((wid.y * nwg.x + wid.x) * 256u + lid);
}
