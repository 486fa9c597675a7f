// Backward of the DMOL log-likelihood: dtheta[i] = g[(i / k) / group] * grad[i], where grad is the per-pixel
// d log p(pixel) / d theta written by dmol_loss.wgsl (k = channels per pixel) and g the incoming gradient,
// one value per pixel (group = 1) or per image (group = pixels per image).
struct Params { n: u32, k: u32, group: u32, _p0: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> dtheta: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (i >= params.n) { return; }
  dtheta[i] = g[(i / params.k) / params.group] * grad[i];
}
