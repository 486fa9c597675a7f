// Declarations both IAF-step kernels share (iaf, iaf_backward), prepended to each by the engine (engine/kernels.ts
// DECLARATION_LIBS; iaf_kl_* and iaf_posterior_* are families of their own): z and the AR-NN's m and s, n elements
// each.
struct Params { n: u32, _p0: u32, _p1: u32, _p2: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read> m: array<f32>;
@group(0) @binding(3) var<storage, read> s: array<f32>;
