// Reference-grade input gradient of conv2d (also the forward of a transposed convolution), one invocation
// per input element: out[b,ih,iw,ci] = bias[ci] + sum over taps t and output positions (oh,ow) with
// oh*stride + kh_t - pad_top = ih (and likewise for w) of sum_co lhs[b,oh,ow,co] * rhs[t,ci,co].
// Params, tap(), HAS_BIAS, bias and out come from conv2d_lib.wgsl; lhs, rhs and nhwc() from conv2d_naive_lib.wgsl
// (both prepended by the engine).

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (i >= params.B * params.H * params.W * params.Cin) { return; }
  let p = nhwc(i, params.H, params.W, params.Cin); // (b, ih, iw, ci)
  let s = i32(params.stride);
  var acc = 0.0;
  if (HAS_BIAS) { acc = bias[p.w]; }
  for (var t = 0u; t < params.T; t++) {
    let k = tap(t);
    let ph = i32(p.y) + i32(params.pad_top) - k.x;
    let pw = i32(p.z) + i32(params.pad_left) - k.y;
    if (ph < 0 || pw < 0 || ph % s != 0 || pw % s != 0) { continue; }
    let oh = ph / s;
    let ow = pw / s;
    if (oh >= i32(params.Ho) || ow >= i32(params.Wo)) { continue; }
    let gbase = ((p.x * params.Ho + u32(oh)) * params.Wo + u32(ow)) * params.Cout;
    let wbase = (t * params.Cin + p.w) * params.Cout;
    for (var co = 0u; co < params.Cout; co++) {
      acc += lhs[gbase + co] * rhs[wbase + co];
    }
  }
  out[i] = acc;
}
