// Inverted dropout, engine/ops/gated.ts: y[i] = x[i] * scale if kept else 0, scale = 1 / (1 - p) (rounded to
// f32 on the CPU). Element i is kept when philox4x32_10((i, stream, 2, stream_hi), key).x mapped to (0,1) is >= p
// (kind 2 = dropout; the engine's uniform/normal use 0 and 1). The backward is the same kernel applied to the
// output gradient: the mask is regenerated from the counter, never stored. offset: as in philox.wgsl (the counter
// of element i is offset + i).
// element() is one element's work; each_element() (the bounds check, GROUP) comes from elementwise_lib.wgsl.
struct Params { n: u32, stream: u32, key0: u32, key1: u32, p: f32, scale: f32, offset: u32, stream_hi: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

// philox4x32_10 and to_unit come from philox_lib.wgsl (prepended by the engine).

fn element(i: u32) {
  let w = philox4x32_10(vec4u(params.offset + i, params.stream, 2u, params.stream_hi), vec2u(params.key0, params.key1));
  y[i] = select(0.0, x[i] * params.scale, to_unit(w.x) >= params.p);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  each_element((wid.y * nwg.x + wid.x) * 256u + lid);
}
