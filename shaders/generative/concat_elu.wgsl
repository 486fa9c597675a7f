// concat_elu (PixelCNN++ nn.concat_elu) fused with optional dropout (engine/ops/gated.ts):
//   y[r, c] = elu(x[r, c]) * m(r*2C + c) * scale,   y[r, C + c] = elu(-x[r, c]) * m(r*2C + C + c) * scale
// for x viewed as [rows, C], y as [rows, 2C]. One thread per input element (reads x once, writes both halves).
// Dropped elements are written as 0.
// Params, DROPOUT, PAIR, NEGATIVE, x, x2, input() and keep() come from concat_elu_lib.wgsl; GROUP and
// each_row_element() from elementwise_rows_lib.wgsl (with GROUP 4, c and c1 are multiples of 4); expm1_ from
// math_lib.wgsl (all prepended by the engine).
// elu(a) and elu(-a) share one expm1: of -|a|, the negative one of the two (lanes of a SIMD CPU run both sides
// of a branch, so two elu_ calls would cost two).
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

fn row_element(i: u32, r: u32, c: u32) {
  let o = i + r * c; // r * 2C + (i - r * C)
  let a = input(i, r, c);
  let e = expm1_(-abs(a));
  var y0 = select(e, a, a > 0.0);
  var y1 = select(-a, e, a >= 0.0);
  if (DROPOUT) {
    y0 = select(0.0, y0 * params.scale, keep(o));
    y1 = select(0.0, y1 * params.scale, keep(o + c));
  }
  if (!NEGATIVE) {
    y[i] = y0;
  } else {
    y[o] = y0;
    y[o + c] = y1;
  }
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  each_row_element((wid.y * nwg.x + wid.x) * 256u + lid, params.c);
}
