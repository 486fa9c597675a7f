// 2-D max pooling over NHWC images: x [B, H, W, C] -> y [B, OH, OW, C], window kh x kw at stride (sh, sw) with
// pad_top / pad_left rows and columns of padding before (padding never wins: windows take only real pixels).
// It also writes the flat position h * W + w of each maximum (int32, the first in row-major window order on
// ties), which max_pool_backward.wgsl routes the gradient to. One invocation per GROUP consecutive channels of
// one output pixel (GROUP 4 when C is a multiple of 4: the index arithmetic, most of the cost on lavapipe, is
// shared). Params, GROUP, each_channel_group() and pixel_xyb() come from max_pool_lib.wgsl (prepended by the engine).
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> argmax: array<i32>;

fn channels(t: u32, ch: u32, pix: u32) {
  let o = pixel_xyb(pix, params.ow, params.oh);
  let ox = o.x;
  let oy = o.y;
  let b = o.z;
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

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  each_channel_group((wid.y * nwg.x + wid.x) * 256u + lid);
}
