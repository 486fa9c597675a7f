// Declarations both layer-norm kernels share (layer_norm, layer_norm_backward), prepended to each by the engine
// (engine/kernels.ts DECLARATION_LIBS): x [rows, C] normalised over its last axis, eps (the forward's; the backward
// works from the saved mean and rstd), AFFINE (gamma and beta applied; without it gamma is bound to x, unread).
struct Params { rows: u32, c: u32, eps: f32, _p0: u32 }
override AFFINE: bool = true;
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
