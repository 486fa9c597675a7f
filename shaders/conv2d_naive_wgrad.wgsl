// Reference-grade weight gradient of conv2d, one invocation per weight (lhs = x, rhs = dy, out = dw; the weight
// gradient has no bias term, HAS_BIAS is ignored):
// out[t,ci,co] = sum_{b,oh,ow} lhs[b, oh*stride + kh_t - pad_top, ow*stride + kw_t - pad_left, ci] * rhs[b,oh,ow,co].
// Params, tap(), bias and out come from conv2d_lib.wgsl; lhs and rhs from conv2d_naive_lib.wgsl (both prepended
// by the engine).

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
