// matmul_naive: baseline. One output element per invocation, plain K loop straight
// from global memory, no shared memory, no register blocking. Workgroup 16x16 (256
// invocations) -> 16x16 outputs per workgroup; x = column (n), y = row (m), z = batch.
// Handles any M, N, K >= 1 and all four TRANS_A / TRANS_B combinations.
// Measured on lavapipe (2 cores): ~1 GFLOP/s at 1024^3; exists only as the reference.
struct Params {
  M: u32, N: u32, K: u32, batch: u32,
  a_batch_stride: u32, b_batch_stride: u32, c_batch_stride: u32, _pad: u32,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
// HAS_BIAS: c = op(A) op(B) + bias[col] (the epilogue of a dense / nin layer); bias [N] is bound either way.
@group(0) @binding(4) var<storage, read> bias: array<f32>;
// HAS_ADDEND: c += addend (same layout as c; a residual sum folded into the epilogue); bound either way.
@group(0) @binding(5) var<storage, read> addend: array<f32>;
override TRANS_A: bool = false;
override TRANS_B: bool = false;
override HAS_BIAS: bool = false;
override HAS_ADDEND: bool = false;

fn bias_at(col: u32) -> f32 {
  if (HAS_BIAS) { return bias[min(col, params.N - 1u)]; }
  return 0.0;
}

fn addend_at(i: u32, col: u32) -> f32 {
  if (HAS_ADDEND && col < params.N) { return addend[i]; }
  return 0.0;
}


@compute @workgroup_size(16, 16, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let M = params.M;
  let N = params.N;
  let K = params.K;
  let col = gid.x;
  let row = gid.y;
  let z = gid.z;
  if (row >= M || col >= N || z >= params.batch) { return; }
  let aOff = z * params.a_batch_stride;
  let bOff = z * params.b_batch_stride;
  // element (row, k) of opA and (k, col) of opB are at aBase + k*aStep, bBase + k*bStep
  var aBase = aOff + row * K;
  var aStep = 1u;
  if (TRANS_A) { aBase = aOff + row; aStep = M; }
  var bBase = bOff + col;
  var bStep = N;
  if (TRANS_B) { bBase = bOff + col * K; bStep = 1u; }
  var acc = 0.0;
  for (var k = 0u; k < K; k++) {
    acc = fma(a[aBase + k * aStep], b[bBase + k * bStep], acc);
  }
  let i = z * params.c_batch_stride + row * N + col;
  c[i] = acc + bias_at(col) + addend_at(i, col);
}
