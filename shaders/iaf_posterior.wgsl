// The posterior sample of one IAF-VAE layer (engine/ops/iaf.ts iafPosterior), in one pass, reading the channel
// windows of the two conv outputs that hold its parameters instead of slicing them out (MODEL_SPEC §3.4):
//   qMean = up[mean] + down[mean],  qLogSd = up[logsd] + down[logsd],  context = up[ctx] + down[ctx]
//   z0 = qMean + exp(qLogSd) eps   (FROM_PRIOR: z0 = down[prior mean] + exp(down[prior logsd]) eps, the
//                                   data-dependent init's sample)
//   logq0 = log N(z0; qMean, exp(qLogSd)^2) = -0.5 log 2pi - qLogSd - 0.5 u^2,  u = (z0 - qMean) exp(-qLogSd)
// up [P, cu] and down [P, cd] are channels-last conv outputs; P = pixels. One invocation per (pixel, latent
// channel) for z0 and logq0, and per (pixel, context channel) for context: index i < P (Z + H).
struct Params {
  pixels: u32, z: u32, h: u32, cu: u32,
  cd: u32, up_mean: u32, up_logsd: u32, up_ctx: u32,
  down_mean: u32, down_logsd: u32, down_ctx: u32, prior_mean: u32,
  prior_logsd: u32, _p0: u32, _p1: u32, _p2: u32,
}
override FROM_PRIOR: bool = false;
const LOG_2PI: f32 = 1.8378770664093453;
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> up: array<f32>;
@group(0) @binding(2) var<storage, read> down: array<f32>;
@group(0) @binding(3) var<storage, read> eps: array<f32>;
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
  let qm = up[u0 + params.up_mean + j] + down[d0 + params.down_mean + j];
  let qs = up[u0 + params.up_logsd + j] + down[d0 + params.down_logsd + j];
  let e = eps[p * params.z + j];
  var z = qm + exp(qs) * e;
  if (FROM_PRIOR) { z = down[d0 + params.prior_mean + j] + exp(down[d0 + params.prior_logsd + j]) * e; }
  let u = (z - qm) * exp(-qs);
  z0[p * params.z + j] = z;
  logq0[p * params.z + j] = -0.5 * LOG_2PI - qs - 0.5 * u * u;
}
