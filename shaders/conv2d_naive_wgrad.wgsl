// Reference-grade weight gradient of conv2d, one invocation per weight:
// out[t,ci,co] = sum_{b,oh,ow} lhs[b, oh*stride + kh_t - pad_top, ow*stride + kw_t - pad_left, ci] * rhs[b,oh,ow,co].
struct Params {
  B: u32, H: u32, W: u32, Cin: u32,
  Ho: u32, Wo: u32, Cout: u32, T: u32,
  stride: u32, pad_top: u32, pad_left: u32, k_chunk: u32,
  taps: array<vec4<u32>, 7>,
}
@group(0) @binding(0) var<uniform> params: Params;
override HAS_BIAS: bool = false; // unused: the weight gradient has no bias term (common conv binding set)
@group(0) @binding(1) var<storage, read> lhs: array<f32>; // x
@group(0) @binding(2) var<storage, read> rhs: array<f32>; // dy
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>; // dw

fn tap(t: u32) -> vec2i {
  let v = params.taps[t / 4u][t % 4u];
  return vec2i(i32(v >> 16u), i32(v & 0xffffu));
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  let n = params.T * params.Cin * params.Cout;
  if (i >= n) { return; }
  let co = i % params.Cout;
  let ci = (i / params.Cout) % params.Cin;
  let t = i / (params.Cout * params.Cin);
  let k = tap(t);
  var acc = 0.0;
  for (var b = 0u; b < params.B; b++) {
    for (var oh = 0u; oh < params.Ho; oh++) {
      let ih = i32(oh * params.stride) + k.x - i32(params.pad_top);
      if (ih < 0 || ih >= i32(params.H)) { continue; }
      for (var ow = 0u; ow < params.Wo; ow++) {
        let iw = i32(ow * params.stride) + k.y - i32(params.pad_left);
        if (iw < 0 || iw >= i32(params.W)) { continue; }
        acc += lhs[((b * params.H + u32(ih)) * params.W + u32(iw)) * params.Cin + ci] * rhs[((b * params.Ho + oh) * params.Wo + ow) * params.Cout + co];
      }
    }
  }
  out[i] = acc;
}
