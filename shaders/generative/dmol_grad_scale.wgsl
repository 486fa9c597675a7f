// Backward of the DMOL log-likelihood, in place: dtheta[i] *= g[i / span], where dtheta holds the per-pixel
// d log p(pixel) / d theta written by dmol_loss.wgsl (a buffer owned by the op, handed to the tape as the
// gradient) and g is the incoming gradient, one value per pixel (span = channels per pixel) or per image
// (span = pixels per image * channels per pixel).
// element() is one element's work; each_element() (the bounds check, GROUP) comes from elementwise_lib.wgsl.
struct Params { n: u32, span: u32, _p0: u32, _p1: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> dtheta: array<f32>;

fn element(i: u32) {
  dtheta[i] *= g[i / params.span];
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  each_element((wid.y * nwg.x + wid.x) * 256u + lid);
}
