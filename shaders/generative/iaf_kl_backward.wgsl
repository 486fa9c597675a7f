// Backward of shaders/iaf_kl.wgsl, g = dL/dkl, u = (z - pMean) exp(-pLogSd):
//   dlogq0 = dlog_det = g (views of g, no kernel),  dz = g u exp(-pLogSd),
//   dpMean = -g u exp(-pLogSd),  dpLogSd = g (1 - u^2)
// One invocation per element of d_prior [P, cp] and of dz [P, Z] (index i < P max(cp, Z)); prior channels
// outside the two windows get 0, or are left alone with ACC_PRIOR (adding into a pending gradient the tape
// offers, engine/tape.ts sinks); ACC_Z adds dz into z's pending gradient.
struct Params { pixels: u32, z: u32, cp: u32, prior_mean: u32, prior_logsd: u32, _p0: u32, _p1: u32, _p2: u32 }
override ACC_Z: bool = false;
override ACC_PRIOR: bool = false;
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read> prior: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<storage, read_write> dz: array<f32>;
@group(0) @binding(5) var<storage, read_write> d_prior: array<f32>;

// (dz, dpMean, dpLogSd) of latent channel j at pixel p.
fn grads(p: u32, j: u32) -> vec3f {
  let i = p * params.z + j;
  let pm = prior[p * params.cp + params.prior_mean + j];
  let ps = prior[p * params.cp + params.prior_logsd + j];
  let inv = exp(-ps);
  let u = (z[i] - pm) * inv;
  let gi = g[i];
  return vec3f(gi * u * inv, -gi * u * inv, gi * (1.0 - u * u));
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  let width = max(params.cp, params.z);
  if (i >= params.pixels * width) { return; }
  let p = i / width;
  let c = i - p * width;
  if (c < params.z) {
    let v = grads(p, c).x;
    let o = p * params.z + c;
    if (ACC_Z) { dz[o] += v; } else { dz[o] = v; }
  }
  if (c < params.cp) {
    var v = 0.0;
    var hit = true;
    if (c >= params.prior_mean && c < params.prior_mean + params.z) { v = grads(p, c - params.prior_mean).y; }
    else if (c >= params.prior_logsd && c < params.prior_logsd + params.z) { v = grads(p, c - params.prior_logsd).z; }
    else { hit = false; }
    let o = p * params.cp + c;
    if (ACC_PRIOR) { if (hit) { d_prior[o] += v; } } else { d_prior[o] = v; }
  }
}
