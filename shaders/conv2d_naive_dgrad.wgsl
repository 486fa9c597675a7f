// Reference-grade input gradient of conv2d (also the forward of a transposed convolution), one invocation
// per input element: out[b,ih,iw,ci] = bias[ci] + sum over taps t and output positions (oh,ow) with
// oh*stride + kh_t - pad_top = ih (and likewise for w) of sum_co lhs[b,oh,ow,co] * rhs[t,ci,co].
struct Params {
  B: u32, H: u32, W: u32, Cin: u32,
  Ho: u32, Wo: u32, Cout: u32, T: u32,
  stride: u32, pad_top: u32, pad_left: u32, k_chunk: u32,
  taps: array<vec4<u32>, 7>,
}
override HAS_BIAS: bool = false;
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> lhs: array<f32>;
@group(0) @binding(2) var<storage, read> rhs: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

fn tap(t: u32) -> vec2i {
  let v = params.taps[t / 4u][t % 4u];
  return vec2i(i32(v >> 16u), i32(v & 0xffffu));
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  let n = params.B * params.H * params.W * params.Cin;
  if (i >= n) { return; }
  let ci = i % params.Cin;
  var r = i / params.Cin;
  let iw = r % params.W; r = r / params.W;
  let ih = r % params.H;
  let b = r / params.H;
  let s = i32(params.stride);
  var acc = 0.0;
  if (HAS_BIAS) { acc = bias[ci]; }
  for (var t = 0u; t < params.T; t++) {
    let k = tap(t);
    let ph = i32(ih) + i32(params.pad_top) - k.x;
    let pw = i32(iw) + i32(params.pad_left) - k.y;
    if (ph < 0 || pw < 0 || ph % s != 0 || pw % s != 0) { continue; }
    let oh = ph / s;
    let ow = pw / s;
    if (oh >= i32(params.Ho) || ow >= i32(params.Wo)) { continue; }
    let gbase = ((b * params.Ho + u32(oh)) * params.Wo + u32(ow)) * params.Cout;
    let wbase = (t * params.Cin + ci) * params.Cout;
    for (var co = 0u; co < params.Cout; co++) {
      acc += lhs[gbase + co] * rhs[wbase + co];
    }
  }
  out[i] = acc;
}
