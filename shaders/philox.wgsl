// Counter-based RNG (Philox4x32-10, Salmon et al. 2011): element i of a tensor drawn with key (seed) and
// stream s uses counter (offset + i, s, kind, 0), so values are reproducible and independent of dispatch order and
// of how the work is split. kind 0: uniform from word 0; kind 1: Box-Muller normal from words 0 and 1.
// offset (0 unless asked): a part of a larger tensor (a data-parallel rank's images of a global batch) draws the
// values the whole tensor has at those elements.
// element() is one element's work; each_element() (the bounds check, GROUP) comes from elementwise_lib.wgsl.
struct Params { n: u32, stream: u32, key0: u32, key1: u32, a: f32, b: f32, offset: u32, stream_hi: u32 }
override NORMAL: bool = false;
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;

// philox4x32_10 and to_unit come from philox_lib.wgsl (prepended by the engine).

fn element(i: u32) {
  let key = vec2u(params.key0, params.key1);
  if (NORMAL) {
    let w = philox4x32_10(vec4u(params.offset + i, params.stream, 1u, params.stream_hi), key);
    let u1 = to_unit(w.x);
    let u2 = to_unit(w.y);
    let z = sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
    y[i] = params.a + params.b * z;
  } else {
    let w = philox4x32_10(vec4u(params.offset + i, params.stream, 0u, params.stream_hi), key);
    y[i] = params.a + (params.b - params.a) * to_unit(w.x);
  }
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  each_element((wid.y * nwg.x + wid.x) * 256u + lid);
}
