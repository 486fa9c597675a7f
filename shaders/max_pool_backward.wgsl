// dL/dx of max_pool.wgsl: each input pixel gets the sum of dy over the windows whose recorded maximum it is.
// TILES (the windows tile the image exactly: stride = window, no padding, H and W multiples of it): one
// invocation per GROUP channels of one output pixel writes its whole window of dx (dy at the maximum, 0 elsewhere).
// Otherwise (overlapping or ragged windows): one invocation per GROUP channels of one input pixel adds up the
// output positions whose window contains it and chose it. Either way no two invocations write one element.
// Params, GROUP, each_channel_group() and pixel_xyb() come from max_pool_lib.wgsl (prepended by the engine).
override TILES: bool = false;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> argmax: array<i32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

// The output positions o whose window [o * s - pad, o * s - pad + k) contains p: o in [lo, hi).
fn window_range(p: u32, k: u32, s: u32, pad: u32, n_out: u32) -> vec2<u32> {
  let q = i32(p + pad);
  let lo = max(q - i32(k) + i32(s), 0) / i32(s); // ceil((q - k + 1) / s), at least 0
  let hi = min(u32(q) / s + 1u, n_out);
  return vec2<u32>(u32(lo), hi);
}

fn channels(t: u32, ch: u32, pix: u32) {
  if (TILES) {
    // t indexes the output; its window is rows [oy kh, oy kh + kh), columns [ox kw, ox kw + kw).
    let o = pixel_xyb(pix, params.ow, params.oh);
    let ox = o.x;
    let oy = o.y;
    let b = o.z;
    for (var g = 0u; g < GROUP; g++) {
      let at = argmax[t + g];
      let d = dy[t + g];
      for (var yy = oy * params.kh; yy < (oy + 1u) * params.kh; yy++) {
        for (var xx = ox * params.kw; xx < (ox + 1u) * params.kw; xx++) {
          dx[((b * params.h + yy) * params.w + xx) * params.c + ch + g] = select(0.0, d, i32(yy * params.w + xx) == at);
        }
      }
    }
    return;
  }
  // t indexes the input.
  let p = pixel_xyb(pix, params.w, params.h);
  let px = p.x;
  let py = p.y;
  let b = p.z;
  let me = i32(py * params.w + px);
  let ry = window_range(py, params.kh, params.sh, params.pad_top, params.oh);
  let rx = window_range(px, params.kw, params.sw, params.pad_left, params.ow);
  for (var g = 0u; g < GROUP; g++) {
    var acc = 0.0;
    for (var oy = ry.x; oy < ry.y; oy++) {
      for (var ox = rx.x; ox < rx.y; ox++) {
        let o = ((b * params.oh + oy) * params.ow + ox) * params.c + ch + g;
        if (argmax[o] == me) { acc += dy[o]; }
      }
    }
    dx[t + g] = acc;
  }
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  each_channel_group((wid.y * nwg.x + wid.x) * 256u + lid);
}
