// Pointwise maps of 0..255 pixel data for the AGAVE auxiliary image (engine/ops/aux_image.ts). Data only
// (no gradient). MODE 0 quantize: y = c * floor(x / c), c = params.c (the bin lower edge of K = 256 / c levels).
// MODE 1 round: y = floor(x + 0.5) clamped to 0..255 (a downsampled image back to integer pixel values).
// MODE 2 gray4: x is [rows, 3] RGB, y is [rows] with luma L = 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601),
// level = floor(L / 16) (0..15), y = 16 * level. L is formed exactly in integers (299 R + 587 G + 114 B,
// inputs rounded to integers) so gray levels R = G = B = 16 k land on level k, not k - 1.
// element() is one element's work; each_element() (the bounds check, GROUP) comes from elementwise_lib.wgsl.
struct Params { n: u32, c: f32, _p0: u32, _p1: u32 }
override MODE: u32 = 0u;
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

fn px(v: f32) -> u32 { return u32(clamp(round(v), 0.0, 255.0)); }

fn element(i: u32) {
  switch MODE {
    case 0u: { y[i] = params.c * floor(x[i] / params.c); }
    case 1u: { y[i] = clamp(floor(x[i] + 0.5), 0.0, 255.0); }
    default: {
      let luma1000 = 299u * px(x[3u * i]) + 587u * px(x[3u * i + 1u]) + 114u * px(x[3u * i + 2u]);
      y[i] = 16.0 * f32(luma1000 / 16000u);
    }
  }
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  each_element((wid.y * nwg.x + wid.x) * 256u + lid);
}
