// Declarations both gaussian_kl kernels share (gaussian_kl, gaussian_kl_backward), prepended to each by the engine
// (engine/kernels.ts DECLARATION_LIBS): the parameters of q and p, n elements each.
struct Params { n: u32, _p0: u32, _p1: u32, _p2: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> mean_q: array<f32>;
@group(0) @binding(2) var<storage, read> log_std_q: array<f32>;
@group(0) @binding(3) var<storage, read> mean_p: array<f32>;
@group(0) @binding(4) var<storage, read> log_std_p: array<f32>;
