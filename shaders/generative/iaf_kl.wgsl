// The single-sample KL term of one IAF-VAE layer (engine/ops/iaf.ts iafKl; docs/MODEL.md §3.4 item 7), in one
// pass, reading the prior's parameters as channel windows of the conv output that holds them:
//   kl = (logq0 + log_det) - log N(z; pMean, exp(pLogSd)^2)
//      = (logq0 + log_det) + 0.5 log 2pi + pLogSd + 0.5 u^2,   u = (z - pMean) exp(-pLogSd)
// logq0, log_det, z, kl [P, Z]; prior [P, cp] with pMean at channel prior_mean, pLogSd at prior_logsd.
// Params, z, prior and standardized() come from iaf_kl_lib.wgsl, prepended by the engine.
const LOG_2PI: f32 = 1.8378770664093453;
@group(0) @binding(3) var<storage, read> logq0: array<f32>;
@group(0) @binding(4) var<storage, read> log_det: array<f32>;
@group(0) @binding(5) var<storage, read_write> kl: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (i >= params.pixels * params.z) { return; }
  let p = i / params.z;
  let q = standardized(p, i - p * params.z);
  let logp = -0.5 * LOG_2PI - q.y - 0.5 * q.x * q.x;
  kl[i] = (logq0[i] + log_det[i]) - logp;
}
