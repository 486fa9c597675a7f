// Declarations both concat_elu kernels share (concat_elu, concat_elu_backward), prepended to each by the engine
// (engine/kernels.ts DECLARATION_LIBS): x viewed as [rows, C], concat_elu's output as [rows, 2C]; the fused dropout's
// mask; the input of a channel concatenation.
struct Params { n: u32, c: u32, stream: u32, key0: u32, key1: u32, p: f32, scale: f32, c1: u32, offset: u32, stream_hi: u32, _p1: u32, _p2: u32 }
// DROPOUT: the keep mask of output element o is philox4x32_10((offset + o, stream, 2, stream_hi), key).x mapped to (0,1) and
// kept when >= p (kind 2 = dropout; 0 and 1 are the engine's uniform/normal), so the fused op draws exactly the mask
// that dropout(concatElu(x)) draws (philox4x32_10 and to_unit come from philox_lib.wgsl, prepended by the engine).
// offset: added to the output element index in the Philox counter (as in philox.wgsl: a part of a larger batch draws
// that batch's mask).
override DROPOUT: bool = false;
// PAIR: the input is the channel concatenation of x [..., c1] and x2 [..., c - c1] (never materialised).
override PAIR: bool = false;
// NEGATIVE=false: only elu(x) [..., C] (elu of a channel concatenation, with PAIR), not concat_elu's [..., 2C].
override NEGATIVE: bool = true;
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> x2: array<f32>;

// Input element i, in row r of c.
fn input(i: u32, r: u32, c: u32) -> f32 {
  if (!PAIR) { return x[i]; }
  let j = i - r * c;
  if (j < params.c1) { return x[r * params.c1 + j]; }
  return x2[r * (c - params.c1) + j - params.c1];
}

fn keep(o: u32) -> bool {
  let w = philox4x32_10(vec4u(params.offset + o, params.stream, 2u, params.stream_hi), vec2u(params.key0, params.key1));
  return to_unit(w.x) >= params.p;
}
