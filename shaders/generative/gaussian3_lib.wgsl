// Declarations both gaussian3 kernels share (gaussian3, gaussian3_backward), prepended to each by the engine
// (engine/kernels.ts DECLARATION_LIBS): the op OP (the GAUSSIAN3_* codes generated from engine/op_codes.ts) and its
// three same-shape inputs a, b, c of n elements.
struct Params { n: u32, _p0: u32, _p1: u32, _p2: u32 }
override OP: u32 = 0u;
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> c: array<f32>;
