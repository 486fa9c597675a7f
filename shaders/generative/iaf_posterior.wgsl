// The posterior sample of one IAF-VAE layer (engine/ops/iaf.ts iafPosterior), in one pass, reading the channel
// windows of the two conv outputs that hold its parameters instead of slicing them out (docs/MODEL.md §3.4):
//   qMean = up[mean] + down[mean],  qLogSd = up[logsd] + down[logsd],  context = up[ctx] + down[ctx]
//   z0 = qMean + exp(qLogSd) eps   (FROM_PRIOR: z0 = down[prior mean] + exp(down[prior logsd]) eps, the
//                                   data-dependent init's sample)
//   logq0 = log N(z0; qMean, exp(qLogSd)^2) = -0.5 log 2pi - qLogSd - 0.5 u^2,  u = (z0 - qMean) exp(-qLogSd)
// up [P, cu] and down [P, cd] are channels-last conv outputs; P = pixels. One invocation per (pixel, latent
// channel) for z0 and logq0, and per (pixel, context channel) for context: index i < P (Z + H).
// Params, FROM_PRIOR, the bindings up, down, eps and posterior_sample() come from iaf_posterior_lib.wgsl.
const LOG_2PI: f32 = 1.8378770664093453;
@group(0) @binding(4) var<storage, read_write> z0: array<f32>;
@group(0) @binding(5) var<storage, read_write> logq0: array<f32>;
@group(0) @binding(6) var<storage, read_write> context: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  let per = params.z + params.h;
  if (i >= params.pixels * per) { return; }
  let p = i / per;
  let j = i - p * per;
  let u0 = p * params.cu;
  let d0 = p * params.cd;
  if (j >= params.z) {
    let k = j - params.z;
    context[p * params.h + k] = up[u0 + params.up_ctx + k] + down[d0 + params.down_ctx + k];
    return;
  }
  let sample = posterior_sample(p, j);
  let z = sample.z;
  let u = (z - sample.qm) * exp(-sample.qs);
  z0[p * params.z + j] = z;
  logq0[p * params.z + j] = -0.5 * LOG_2PI - sample.qs - 0.5 * u * u;
}
