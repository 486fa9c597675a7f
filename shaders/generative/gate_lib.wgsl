// Declarations both gate kernels share (gate, gate_backward), prepended to each by the engine (engine/kernels.ts
// DECLARATION_LIBS): c2 viewed as [rows, 2F] (A = its first F channels, B = its last F), y and the residual as
// [rows, F], n = rows F elements.
struct Params { n: u32, f: u32, _p0: u32, _p1: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> c2: array<f32>;
