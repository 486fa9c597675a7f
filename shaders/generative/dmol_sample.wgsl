// Sampler of the discretized logistic mixture (docs/MODEL.md §2.8, pitfalls 6-7): one invocation per sampled
// pixel. Invocation i samples pixel p = i * stride + pos (every pixel: stride 1, pos 0; one raster position of
// every image: stride H*W, pos row*W + col) and writes only that pixel's NC values of `canvas`.
// Gumbel-max picks k* = argmax_k (logit_k - log(-log u_k)) (first maximum on ties); then per channel
// v_c = mu_c + exp(max(raw_log_s, -7)) * (log u - log(1 - u)), and RGB coupling on the CLIPPED samples:
// x_R = clip(v_R), x_G = clip(v_G + alpha x_R), x_B = clip(v_B + beta x_R + gamma x_G), clip to [-1, 1].
// Noise: Philox4x32-10 (copied from philox.wgsl), key (key0, key1) = the seed split in two u32, counter
// (p, stream, kind, 0) with p the flat pixel index b*H*W + row*W + col, so a pixel's noise does not depend on
// the mode or on the dispatch. kind 2: logistic noise, word c for channel c; kind 3 + q: Gumbel noise, word j
// for component k = 4q + j. (kinds 0 and 1 are the engine's uniform/normal tensors.) Every uniform is
// ((w >> 8) + 0.5) / 2^24, then clipped to [1e-5, 1 - 1e-5].
struct Params { n: u32, stride: u32, pos: u32, stream: u32, key0: u32, key1: u32, stream_hi: u32, _p1: u32 }
override NR_MIX: u32 = 10u;
override NC: u32 = 3u;
const MIN_LOG_SCALE: f32 = -7.0;
const KIND_LOGISTIC: u32 = 2u;
const KIND_GUMBEL: u32 = 3u;
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> theta: array<f32>;
@group(0) @binding(2) var<storage, read_write> canvas: array<f32>;

// philox4x32_10 and to_unit come from philox_lib.wgsl (prepended by the engine).

// log1p_, expm1_, sigmoid_, softplus_ and tanh_ come from math_lib.wgsl (prepended by the engine).

fn unit_clipped(w: u32) -> f32 { return clamp((f32(w >> 8u) + 0.5) / 16777216.0, 1e-5, 1.0 - 1e-5); }

fn logistic(mu: f32, raw_ls: f32, w: u32) -> f32 {
  let u = unit_clipped(w);
  return mu + exp(max(raw_ls, MIN_LOG_SCALE)) * (log(u) - log(1.0 - u));
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (i >= params.n) { return; }
  let p = i * params.stride + params.pos;
  let K = select(3u * NR_MIX, 10u * NR_MIX, NC == 3u);
  let base = p * K;
  let key = vec2u(params.key0, params.key1);

  var best = -3.0e38;
  var kbest = 0u;
  for (var q = 0u; q * 4u < NR_MIX; q++) {
    var words = philox4x32_10(vec4u(p, params.stream, KIND_GUMBEL + q, params.stream_hi), key);
    for (var j = 0u; j < 4u; j++) {
      let k = q * 4u + j;
      if (k < NR_MIX) {
        let u = unit_clipped(words[j]);
        let score = theta[base + k] - log(-log(u));
        if (score > best) {
          best = score;
          kbest = k;
        }
      }
    }
  }

  let noise = philox4x32_10(vec4u(p, params.stream, KIND_LOGISTIC, params.stream_hi), key);
  let oR = base + NR_MIX + kbest;
  let xr = clamp(logistic(theta[oR], theta[oR + NR_MIX], noise.x), -1.0, 1.0);
  canvas[p * NC] = xr;
  if (NC == 3u) {
    let oG = oR + 3u * NR_MIX;
    let oB = oG + 3u * NR_MIX;
    let alpha = tanh_(theta[oR + 2u * NR_MIX]);
    let beta = tanh_(theta[oG + 2u * NR_MIX]);
    let gamma = tanh_(theta[oB + 2u * NR_MIX]);
    let xg = clamp(logistic(theta[oG], theta[oG + NR_MIX], noise.y) + alpha * xr, -1.0, 1.0);
    let xb = clamp(logistic(theta[oB], theta[oB + NR_MIX], noise.z) + beta * xr + gamma * xg, -1.0, 1.0);
    canvas[p * 3u + 1u] = xg;
    canvas[p * 3u + 2u] = xb;
  }
}
