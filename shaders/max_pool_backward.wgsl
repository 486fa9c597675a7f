// dL/dx of max_pool.wgsl: each input pixel gets the sum of dy over the windows whose recorded maximum it is
// (windows overlap when the stride is below the window). One invocation per input element loops over the
// output positions whose window contains it, so no two invocations write one element.
struct Params {
  total: u32, h: u32, w: u32, c: u32,
  oh: u32, ow: u32, kh: u32, kw: u32,
  sh: u32, sw: u32, pad_top: u32, pad_left: u32,
}
@group(0) @binding(0) var<uniform> params: Params;
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

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (t >= params.total) { return; }
  let ch = t % params.c;
  let px = (t / params.c) % params.w;
  let py = (t / (params.c * params.w)) % params.h;
  let b = t / (params.c * params.w * params.h);
  let me = i32(py * params.w + px);
  let ry = window_range(py, params.kh, params.sh, params.pad_top, params.oh);
  let rx = window_range(px, params.kw, params.sw, params.pad_left, params.ow);
  var acc = 0.0;
  for (var oy = ry.x; oy < ry.y; oy++) {
    for (var ox = rx.x; ox < rx.y; ox++) {
      let o = ((b * params.oh + oy) * params.ow + ox) * params.c + ch;
      if (argmax[o] == me) { acc += dy[o]; }
    }
  }
  dx[t] = acc;
}
