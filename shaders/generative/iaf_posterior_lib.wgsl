// Declarations both IAF-posterior kernels share (iaf_posterior, iaf_posterior_backward), prepended to each by the
// engine (engine/kernels.ts DECLARATION_LIBS): the layout of the two conv outputs' windows, their bindings, and the
// sample the forward draws, which the backward recomputes.
struct Params {
  pixels: u32, z: u32, h: u32, cu: u32,
  cd: u32, up_mean: u32, up_logsd: u32, up_ctx: u32,
  down_mean: u32, down_logsd: u32, down_ctx: u32, prior_mean: u32,
  prior_logsd: u32, _p0: u32, _p1: u32, _p2: u32,
}
override FROM_PRIOR: bool = false;
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> up: array<f32>;
@group(0) @binding(2) var<storage, read> down: array<f32>;
@group(0) @binding(3) var<storage, read> eps: array<f32>;

struct Sample { qm: f32, qs: f32, z: f32, eps: f32, prior_logsd: f32 }

// Latent channel j at pixel p: qMean, qLogSd, z0 (FROM_PRIOR: from the prior's windows, whose log-sd is kept
// for the backward; 0 otherwise) and its noise.
fn posterior_sample(p: u32, j: u32) -> Sample {
  let u0 = p * params.cu;
  let d0 = p * params.cd;
  let qm = up[u0 + params.up_mean + j] + down[d0 + params.down_mean + j];
  let qs = up[u0 + params.up_logsd + j] + down[d0 + params.down_logsd + j];
  let e = eps[p * params.z + j];
  if (FROM_PRIOR) {
    let ps = down[d0 + params.prior_logsd + j];
    return Sample(qm, qs, down[d0 + params.prior_mean + j] + exp(ps) * e, e, ps);
  }
  return Sample(qm, qs, qm + exp(qs) * e, e, 0.0);
}
