// Declarations both gather kernels share (gather, gather_backward), prepended to each by the engine
// (engine/kernels.ts DECLARATION_LIBS): x seen as [outer, n, inner] along the gathered axis, indices int32 [k]
// (any shape, flattened), count = the kernel's invocations (gather: output elements [outer, k, inner];
// gather_backward: columns (o, i) of dx).
struct Params { count: u32, n: u32, k: u32, inner: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> indices: array<i32>;
