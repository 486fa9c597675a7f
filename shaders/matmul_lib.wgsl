// Declarations every matmul kernel shares (matmul_tiled, matmul_tiled_shared, matmul_naive), prepended to each
// by the engine (engine/kernels.ts DECLARATION_LIBS: shaders/<prefix>_lib.wgsl goes before shaders/<prefix>_*.wgsl):
// C[z] = op(A[z]) op(B[z]) (+ bias) (+ addend) for batch z, operands at z * stride (0 = broadcast).
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

fn bias4(col: u32) -> vec4<f32> {
  return vec4<f32>(bias_at(col), bias_at(col + 1u), bias_at(col + 2u), bias_at(col + 3u));
}

fn addend_at(i: u32, col: u32) -> f32 {
  if (HAS_ADDEND && col < params.N) { return addend[i]; }
  return 0.0;
}

fn addend4(i: u32, col: u32) -> vec4<f32> {
  return vec4<f32>(addend_at(i, col), addend_at(i + 1u, col + 1u), addend_at(i + 2u, col + 2u), addend_at(i + 3u, col + 3u));
}

// The epilogue of the register-blocked kernels (matmul_tiled, matmul_tiled_shared): C[row, col..col+3] of the
// batch at c_off = acc + bias + addend, columns >= N skipped, nothing written for a row >= M.
fn store4(c_off: u32, row: u32, col: u32, acc: vec4<f32>) {
  if (row >= params.M) { return; }
  let N = params.N;
  let base = c_off + row * N + col;
  let v = (acc + bias4(col)) + addend4(base, col);
  if (col + 3u < N) { c[base] = v.x; c[base + 1u] = v.y; c[base + 2u] = v.z; c[base + 3u] = v.w; }
  else { if (col < N) { c[base] = v.x; } if (col + 1u < N) { c[base + 1u] = v.y; } if (col + 2u < N) { c[base + 2u] = v.z; } }
}

// An invocation's whole 8x8 block of C, built once after the K loop (its accumulators stay named variables in the
// loop: on lavapipe an array there spills registers): acc[8 h + 2 q + j] holds C[rows[h] + q, cols[j] .. + 3]
// (h, j < 2, q < 4), stored row by row (one line a row) through store4.
fn store_block(c_off: u32, rows: vec2u, cols: vec2u, acc: array<vec4<f32>, 16>) {
  store4(c_off, rows.x + 0u, cols.x, acc[0]); store4(c_off, rows.x + 0u, cols.y, acc[1]);
  store4(c_off, rows.x + 1u, cols.x, acc[2]); store4(c_off, rows.x + 1u, cols.y, acc[3]);
  store4(c_off, rows.x + 2u, cols.x, acc[4]); store4(c_off, rows.x + 2u, cols.y, acc[5]);
  store4(c_off, rows.x + 3u, cols.x, acc[6]); store4(c_off, rows.x + 3u, cols.y, acc[7]);
  store4(c_off, rows.y + 0u, cols.x, acc[8]); store4(c_off, rows.y + 0u, cols.y, acc[9]);
  store4(c_off, rows.y + 1u, cols.x, acc[10]); store4(c_off, rows.y + 1u, cols.y, acc[11]);
  store4(c_off, rows.y + 2u, cols.x, acc[12]); store4(c_off, rows.y + 2u, cols.y, acc[13]);
  store4(c_off, rows.y + 3u, cols.x, acc[14]); store4(c_off, rows.y + 3u, cols.y, acc[15]);
}
