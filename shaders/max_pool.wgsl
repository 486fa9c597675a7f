// 2-D max pooling over NHWC images: x [B, H, W, C] -> y [B, OH, OW, C], window kh x kw at stride (sh, sw) with
// pad_top / pad_left rows and columns of padding before (padding never wins: windows take only real pixels).
// It also writes the flat position h * W + w of each maximum (int32, the first in row-major window order on
// ties), which max_pool_backward.wgsl routes the gradient to. One invocation per GROUP consecutive channels of
// one output pixel (GROUP 4 when C is a multiple of 4: the index arithmetic, most of the cost on lavapipe, is
// shared).
struct Params {
  total: u32, h: u32, w: u32, c: u32,
  oh: u32, ow: u32, kh: u32, kw: u32,
  sh: u32, sw: u32, pad_top: u32, pad_left: u32,
}
override GROUP: u32 = 1u;
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> argmax: array<i32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = ((wid.y * nwg.x + wid.x) * 256u + lid) * GROUP;
  if (t >= params.total) { return; }
  let ch = t % params.c;
  let pix = t / params.c;
  let ox = pix % params.ow;
  let oy = (pix / params.ow) % params.oh;
  let b = pix / (params.ow * params.oh);
  // Window rows [y0, y0 + kh) and columns [x0, x0 + kw) in padded coordinates, clipped to the image.
  let y0 = i32(oy * params.sh) - i32(params.pad_top);
  let x0 = i32(ox * params.sw) - i32(params.pad_left);
  let ya = u32(max(y0, 0));
  let yb = u32(min(y0 + i32(params.kh), i32(params.h)));
  let xa = u32(max(x0, 0));
  let xb = u32(min(x0 + i32(params.kw), i32(params.w)));
  for (var g = 0u; g < GROUP; g++) {
    var best = ya * params.w + xa;
    var v = x[((b * params.h + ya) * params.w + xa) * params.c + ch + g];
    for (var yy = ya; yy < yb; yy++) {
      for (var xx = xa; xx < xb; xx++) {
        let u = x[((b * params.h + yy) * params.w + xx) * params.c + ch + g];
        if (u > v) {
          v = u;
          best = yy * params.w + xx;
        }
      }
    }
    y[t + g] = v;
    argmax[t + g] = i32(best);
  }
}
