// matmul_tiled_shared: classic shared-memory tiled matmul (the design for real GPUs).
// Design: workgroup 16x8 = 128 invocations; each computes an 8x8 block of C (16 vec4
// accumulators), so a workgroup covers a 64 (M) x 128 (N) tile. Per K-tile of 16, the workgroup
// cooperatively stages A[64x16] and B[16x128] into workgroup memory (bounds-checked, zero-filled
// at edges, transposition handled while staging so the inner loop is identical for all four
// TRANS_A/TRANS_B combinations), with both tiles stored k-major as vec4 (As[k][m/4], Bs[k][n/4]):
// the inner loop reads 2 vec4 of A (broadcast within a warp) and 2 vec4 of B (consecutive
// invocations read consecutive vec4 -> conflict-free 128-bit LDS), then does 64 FMAs. Output
// columns are interleaved (4*(tx + 16j)) for the same reason. 2 barriers per 16 k.
// Any M, N, K >= 1, all TRANS combinations, batch = workgroup_id.z, strides 0 = broadcast.
// Measured on lavapipe (2 cores): ~4.5-4.9 GFLOP/s at 1024^3 (128x128 tile with 16x16 threads:
// 4.0-5.5, noisy; TK=8: 2.7-4.7; TK=32: 3.5; 4x4/thread 64x64: 2.1-2.8). On lavapipe barriers and
// per-lane shared loads are expensive, so matmul_tiled.wgsl (no shared memory) wins there; on
// discrete GPUs this kernel should be preferred. Dispatch = (ceil(N/128), ceil(M/64), batch).
// Params, the bindings (a, b, c, bias, addend), TRANS_A/TRANS_B/HAS_BIAS/HAS_ADDEND and the epilogue
// helpers (bias_at, bias4, addend_at, addend4, store4, the store of 4 outputs, and store_block, of the invocation's
// 8x8 block) come from matmul_lib.wgsl, prepended by the engine.
const WGX = 16u;
const WGY = 8u;
const BM = 64u;
const BN = 128u;
const TK = 16u;
const NT = 128u;
var<workgroup> As: array<vec4<f32>, 256>;
var<workgroup> Bs: array<vec4<f32>, 512>;
// Staging of the K-tile: each invocation loads element u (and u + 128, ...) of the tile as one vec4, zero
// outside the matrix, transposed as needed so both tiles are k-major (As[k][m/4], Bs[k][n/4]).
fn stage_a(u: u32, k0: u32, row0: u32, aOff: u32) {
  let M = params.M; let K = params.K;
  var g: u32; var kk: u32;
  if (TRANS_A) { g = u % 16u; kk = u / 16u; } else { kk = u % TK; g = u / TK; }
  let gk = k0 + kk; let gm = row0 + 4u * g; var v = vec4<f32>(0.0);
  if (gk < K) {
    if (TRANS_A) { let base = aOff + gk * M + gm;
      if (gm + 0u < M) { v[0] = a[base + 0u]; }
      if (gm + 1u < M) { v[1] = a[base + 1u]; }
      if (gm + 2u < M) { v[2] = a[base + 2u]; }
      if (gm + 3u < M) { v[3] = a[base + 3u]; }
    } else { let base = aOff + gm * K + gk;
      if (gm + 0u < M) { v[0] = a[base + 0u * K]; }
      if (gm + 1u < M) { v[1] = a[base + 1u * K]; }
      if (gm + 2u < M) { v[2] = a[base + 2u * K]; }
      if (gm + 3u < M) { v[3] = a[base + 3u * K]; }
    }
  }
  As[kk * 16u + g] = v;
}

fn stage_b(u: u32, k0: u32, col0: u32, bOff: u32) {
  let N = params.N; let K = params.K;
  var h: u32; var kk: u32;
  if (TRANS_B) { kk = u % TK; h = u / TK; } else { h = u % 32u; kk = u / 32u; }
  let gk = k0 + kk; let gn = col0 + 4u * h; var v = vec4<f32>(0.0);
  if (gk < K) {
    if (TRANS_B) { let base = bOff + gn * K + gk;
      if (gn + 0u < N) { v[0] = b[base + 0u * K]; }
      if (gn + 1u < N) { v[1] = b[base + 1u * K]; }
      if (gn + 2u < N) { v[2] = b[base + 2u * K]; }
      if (gn + 3u < N) { v[3] = b[base + 3u * K]; }
    } else { let base = bOff + gk * N + gn;
      if (gn + 0u < N) { v[0] = b[base + 0u]; }
      if (gn + 1u < N) { v[1] = b[base + 1u]; }
      if (gn + 2u < N) { v[2] = b[base + 2u]; }
      if (gn + 3u < N) { v[3] = b[base + 3u]; }
    }
  }
  Bs[kk * 32u + h] = v;
}

@compute @workgroup_size(16, 8, 1)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let M = params.M; let N = params.N; let K = params.K;
  let tx = lid.x; let ty = lid.y;
  let row0 = wid.y * BM; let col0 = wid.x * BN;
  let aOff = wid.z * params.a_batch_stride; let bOff = wid.z * params.b_batch_stride;
  var acc_0_0_0 = vec4<f32>(0.0);
  var acc_0_0_1 = vec4<f32>(0.0);
  var acc_0_1_0 = vec4<f32>(0.0);
  var acc_0_1_1 = vec4<f32>(0.0);
  var acc_0_2_0 = vec4<f32>(0.0);
  var acc_0_2_1 = vec4<f32>(0.0);
  var acc_0_3_0 = vec4<f32>(0.0);
  var acc_0_3_1 = vec4<f32>(0.0);
  var acc_1_0_0 = vec4<f32>(0.0);
  var acc_1_0_1 = vec4<f32>(0.0);
  var acc_1_1_0 = vec4<f32>(0.0);
  var acc_1_1_1 = vec4<f32>(0.0);
  var acc_1_2_0 = vec4<f32>(0.0);
  var acc_1_2_1 = vec4<f32>(0.0);
  var acc_1_3_0 = vec4<f32>(0.0);
  var acc_1_3_1 = vec4<f32>(0.0);
  for (var k0 = 0u; k0 < K; k0 += TK) {
    stage_a(li + 0u, k0, row0, aOff);
    stage_a(li + 128u, k0, row0, aOff);
    stage_b(li + 0u, k0, col0, bOff);
    stage_b(li + 128u, k0, col0, bOff);
    stage_b(li + 256u, k0, col0, bOff);
    stage_b(li + 384u, k0, col0, bOff);
    workgroupBarrier();
    for (var kk = 0u; kk < TK; kk += 1u) {
      {
        let a0 = As[(kk + 0u) * 16u + ty + 0u * WGY];
        let a1 = As[(kk + 0u) * 16u + ty + 1u * WGY];
        let b0 = Bs[(kk + 0u) * 32u + tx + 0u * WGX];
        let b1 = Bs[(kk + 0u) * 32u + tx + 1u * WGX];
        acc_0_0_0 = fma(vec4<f32>(a0[0]), b0, acc_0_0_0);
        acc_0_0_1 = fma(vec4<f32>(a0[0]), b1, acc_0_0_1);
        acc_0_1_0 = fma(vec4<f32>(a0[1]), b0, acc_0_1_0);
        acc_0_1_1 = fma(vec4<f32>(a0[1]), b1, acc_0_1_1);
        acc_0_2_0 = fma(vec4<f32>(a0[2]), b0, acc_0_2_0);
        acc_0_2_1 = fma(vec4<f32>(a0[2]), b1, acc_0_2_1);
        acc_0_3_0 = fma(vec4<f32>(a0[3]), b0, acc_0_3_0);
        acc_0_3_1 = fma(vec4<f32>(a0[3]), b1, acc_0_3_1);
        acc_1_0_0 = fma(vec4<f32>(a1[0]), b0, acc_1_0_0);
        acc_1_0_1 = fma(vec4<f32>(a1[0]), b1, acc_1_0_1);
        acc_1_1_0 = fma(vec4<f32>(a1[1]), b0, acc_1_1_0);
        acc_1_1_1 = fma(vec4<f32>(a1[1]), b1, acc_1_1_1);
        acc_1_2_0 = fma(vec4<f32>(a1[2]), b0, acc_1_2_0);
        acc_1_2_1 = fma(vec4<f32>(a1[2]), b1, acc_1_2_1);
        acc_1_3_0 = fma(vec4<f32>(a1[3]), b0, acc_1_3_0);
        acc_1_3_1 = fma(vec4<f32>(a1[3]), b1, acc_1_3_1);
      }
    }
    workgroupBarrier();
  }
  let rows = vec2u(row0 + 4u * (ty + 0u * WGY), row0 + 4u * (ty + 1u * WGY));
  let cols = vec2u(col0 + 4u * (tx + 0u * WGX), col0 + 4u * (tx + 1u * WGX));
  store_block(wid.z * params.c_batch_stride, rows, cols, array<vec4<f32>, 16>(
    acc_0_0_0, acc_0_0_1, acc_0_1_0, acc_0_1_1, acc_0_2_0, acc_0_2_1, acc_0_3_0, acc_0_3_1,
    acc_1_0_0, acc_1_0_1, acc_1_1_0, acc_1_1_1, acc_1_2_0, acc_1_2_1, acc_1_3_0, acc_1_3_1));
}
