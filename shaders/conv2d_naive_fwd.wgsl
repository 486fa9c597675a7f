// Reference-grade conv2d forward, one invocation per output element (NHWC). Kept as the selectable baseline
// for the tiled kernels and for shapes they do not cover.
// out[b,oh,ow,co] = bias[co] + sum_t sum_ci lhs[b, oh*stride + kh_t - pad_top, ow*stride + kw_t - pad_left, ci] * rhs[t,ci,co]
// Params, tap(), HAS_BIAS, bias and out come from conv2d_lib.wgsl; lhs, rhs and nhwc() from conv2d_naive_lib.wgsl
// (both prepended by the engine).

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (i >= params.B * params.Ho * params.Wo * params.Cout) { return; }
  let o = nhwc(i, params.Ho, params.Wo, params.Cout); // (b, oh, ow, co)
  var acc = 0.0;
  if (HAS_BIAS) { acc = bias[o.w]; }
  for (var t = 0u; t < params.T; t++) {
    let k = tap(t);
    let ih = i32(o.y * params.stride) + k.x - i32(params.pad_top);
    let iw = i32(o.z * params.stride) + k.y - i32(params.pad_left);
    if (ih < 0 || iw < 0 || ih >= i32(params.H) || iw >= i32(params.W)) { continue; }
    let xbase = ((o.x * params.H + u32(ih)) * params.W + u32(iw)) * params.Cin;
    let wbase = t * params.Cin * params.Cout + o.w;
    for (var ci = 0u; ci < params.Cin; ci++) {
      acc += lhs[xbase + ci] * rhs[wbase + ci * params.Cout];
    }
  }
  out[i] = acc;
}
