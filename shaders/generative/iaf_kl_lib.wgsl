// Declarations both IAF-KL kernels share (iaf_kl, iaf_kl_backward), prepended to each by the engine
// (engine/kernels.ts DECLARATION_LIBS): the latent z [P, Z] and the conv output prior [P, cp] holding the prior's
// mean and log-sd as channel windows (at prior_mean, prior_logsd), P = pixels.
struct Params { pixels: u32, z: u32, cp: u32, prior_mean: u32, prior_logsd: u32, _p0: u32, _p1: u32, _p2: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read> prior: array<f32>;

// Latent channel j at pixel p against its prior: (u, pLogSd, exp(-pLogSd)) with u = (z - pMean) exp(-pLogSd).
fn standardized(p: u32, j: u32) -> vec3f {
  let pm = prior[p * params.cp + params.prior_mean + j];
  let ps = prior[p * params.cp + params.prior_logsd + j];
  let inv = exp(-ps);
  return vec3f((z[p * params.z + j] - pm) * inv, ps, inv);
}
