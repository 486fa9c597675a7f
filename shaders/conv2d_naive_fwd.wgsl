// Reference-grade conv2d forward, one invocation per output element (NHWC). Kept as the selectable baseline
// for the tiled kernels and for shapes they do not cover. A "tap list" generalises the kernel window: tap t
// is at (kh, kw) = (taps[t] >> 16, taps[t] & 0xffff), so masked / shifted kernels never load a zero tap.
// out[b,oh,ow,co] = bias[co] + sum_t sum_ci lhs[b, oh*stride + kh_t - pad_top, ow*stride + kw_t - pad_left, ci] * rhs[t,ci,co]
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
  let n = params.B * params.Ho * params.Wo * params.Cout;
  if (i >= n) { return; }
  let co = i % params.Cout;
  var r = i / params.Cout;
  let ow = r % params.Wo; r = r / params.Wo;
  let oh = r % params.Ho;
  let b = r / params.Ho;
  var acc = 0.0;
  if (HAS_BIAS) { acc = bias[co]; }
  for (var t = 0u; t < params.T; t++) {
    let k = tap(t);
    let ih = i32(oh * params.stride) + k.x - i32(params.pad_top);
    let iw = i32(ow * params.stride) + k.y - i32(params.pad_left);
    if (ih < 0 || iw < 0 || ih >= i32(params.H) || iw >= i32(params.W)) { continue; }
    let xbase = ((b * params.H + u32(ih)) * params.W + u32(iw)) * params.Cin;
    let wbase = t * params.Cin * params.Cout + co;
    for (var ci = 0u; ci < params.Cin; ci++) {
      acc += lhs[xbase + ci] * rhs[wbase + ci * params.Cout];
    }
  }
  out[i] = acc;
}
