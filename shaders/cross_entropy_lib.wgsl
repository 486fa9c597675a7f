// Declarations both cross-entropy kernels share (cross_entropy, cross_entropy_backward), prepended to each by the
// engine (engine/kernels.ts DECLARATION_LIBS): logits x [rows, classes] (classes last, contiguous, n = rows classes
// elements), labels int32 [rows], nan_bits (a NaN's bits: WGSL has no NaN literal) for the rows whose label is
// outside [0, classes).
struct Params { rows: u32, classes: u32, nan_bits: u32, n: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<i32>;

fn label_outside(label: i32) -> bool {
  return label < 0 || u32(label) >= params.classes;
}
