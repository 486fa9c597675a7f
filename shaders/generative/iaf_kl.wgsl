// The single-sample KL term of one IAF-VAE layer (engine/ops/iaf.ts iafKl; docs/MODEL.md §3.4 item 7), in one
// pass, reading the prior's parameters as channel windows of the conv output that holds them:
//   kl = (logq0 + log_det) - log N(z; pMean, exp(pLogSd)^2)
//      = (logq0 + log_det) + 0.5 log 2pi + pLogSd + 0.5 u^2,   u = (z - pMean) exp(-pLogSd)
// logq0, log_det, z, kl [P, Z]; prior [P, cp] with pMean at channel prior_mean, pLogSd at prior_logsd.
struct Params { pixels: u32, z: u32, cp: u32, prior_mean: u32, prior_logsd: u32, _p0: u32, _p1: u32, _p2: u32 }
const LOG_2PI: f32 = 1.8378770664093453;
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> logq0: array<f32>;
@group(0) @binding(2) var<storage, read> log_det: array<f32>;
@group(0) @binding(3) var<storage, read> z: array<f32>;
@group(0) @binding(4) var<storage, read> prior: array<f32>;
@group(0) @binding(5) var<storage, read_write> kl: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (i >= params.pixels * params.z) { return; }
  let p = i / params.z;
  let j = i - p * params.z;
  let pm = prior[p * params.cp + params.prior_mean + j];
  let ps = prior[p * params.cp + params.prior_logsd + j];
  let u = (z[i] - pm) * exp(-ps);
  let logp = -0.5 * LOG_2PI - ps - 0.5 * u * u;
  kl[i] = (logq0[i] + log_det[i]) - logp;
}
