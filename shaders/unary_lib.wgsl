// Declarations both unary kernels share (unary, unary_backward), prepended to each by the engine (engine/kernels.ts
// DECLARATION_LIBS): y = f(x, s) for the op OP (its codes: the UNARY_* constants generated from engine/op_codes.ts).
struct Params { n: u32, s: f32, _p0: u32, _p1: u32 }
override OP: u32 = 0u;
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
