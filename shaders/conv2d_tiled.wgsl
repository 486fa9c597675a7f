// Tiled implicit-GEMM convolution: forward, data gradient and weight gradient in one kernel (MODE), since
// all three are a [M, K] x [K, N] product whose output is row-major [M, N]; only the gathers differ:
//   MODE 0 forward : M = B*Ho*Wo, N = Cout, K = T*Cin;  A = im2col(x),            B = w [T*Cin, Cout]
//   MODE 1 dgrad   : M = B*H*W,   N = Cin,  K = T*Cout; A = col2im gather of dy,  B = w^T per tap
//   MODE 2 wgrad   : M = T*Cin,   N = Cout, K = B*Ho*Wo; A = im2col(x)^T,         B = dy [B*Ho*Wo, Cout]
// A workgroup of 16x16 invocations computes a 64x64 output tile, 4x4 outputs per invocation (a vec4 of N
// per row), staging 16-deep K slices of A and B in workgroup memory. Row decodes are hoisted out of the K
// loop. Taps (kh, kw) come from the tap list, so masked/shifted kernels never load a missing tap.
// Params, tap(), HAS_BIAS, STRIDE, bias and out come from conv2d_lib.wgsl, prepended by the engine.
override MODE: u32 = 0u;
const TK: u32 = 16u;
const BM: u32 = 64u;
const BN: u32 = 64u;
@group(0) @binding(1) var<storage, read> lhs: array<f32>;
@group(0) @binding(2) var<storage, read> rhs: array<f32>;

var<workgroup> As: array<f32, 1024>; // [TK][BM]
var<workgroup> Bs: array<f32, 1024>; // [TK][BN]

fn dims() -> vec3u {
  switch MODE {
    case 1u: { return vec3u(params.B * params.H * params.W, params.Cin, params.T * params.Cout); }
    case 2u: { return vec3u(params.T * params.Cin, params.Cout, params.B * params.Ho * params.Wo); }
    default: { return vec3u(params.B * params.Ho * params.Wo, params.Cout, params.T * params.Cin); }
  }
}

// The A row a thread loads, decoded once: (batch, spatial y, spatial x) for MODE 0/1, (tap, channel) for 2.
struct Row { valid: bool, b: u32, y: i32, x: i32 }

fn decode_row(m: u32, M: u32) -> Row {
  var r: Row;
  r.valid = m < M;
  if (MODE == 2u) {
    r.b = 0u; r.y = i32(m / params.Cin); r.x = i32(m % params.Cin);
    return r;
  }
  let w = select(params.Wo, params.W, MODE == 1u);
  let h = select(params.Ho, params.H, MODE == 1u);
  r.x = i32(m % w);
  let q = m / w;
  r.y = i32(q % h);
  r.b = q / h;
  return r;
}

// K-index cursor: MODE 0/1 split k into (tap, channel); MODE 2 into (batch, out y, out x). Advanced by
// adding and wrapping instead of dividing: integer division is scalarised on CPU back ends (lavapipe) and
// slow on GPUs too, and would otherwise run once per loaded element.
struct Cursor { k: u32, a: u32, b: u32, c: u32 }

fn cursor_at(k: u32) -> Cursor {
  var q: Cursor;
  q.k = k;
  switch MODE {
    case 1u: { q.a = k / params.Cout; q.b = k % params.Cout; q.c = 0u; }
    case 2u: { q.c = k % params.Wo; let r = k / params.Wo; q.b = r % params.Ho; q.a = r / params.Ho; }
    default: { q.a = k / params.Cin; q.b = k % params.Cin; q.c = 0u; }
  }
  return q;
}

fn cursor_add(q0: Cursor, d: u32) -> Cursor {
  var q = q0;
  q.k += d;
  switch MODE {
    case 2u: {
      q.c += d;
      while (q.c >= params.Wo) { q.c -= params.Wo; q.b += 1u; }
      while (q.b >= params.Ho) { q.b -= params.Ho; q.a += 1u; }
    }
    case 1u: { q.b += d; while (q.b >= params.Cout) { q.b -= params.Cout; q.a += 1u; } }
    default: { q.b += d; while (q.b >= params.Cin) { q.b -= params.Cin; q.a += 1u; } }
  }
  return q;
}

fn load_a(r: Row, q: Cursor, K: u32) -> f32 {
  if (!r.valid || q.k >= K) { return 0.0; }
  switch MODE {
    case 1u: {
      let kk = tap(q.a);
      let ph = r.y + i32(params.pad_top) - kk.x;
      let pw = r.x + i32(params.pad_left) - kk.y;
      if (ph < 0 || pw < 0) { return 0.0; }
      let uh = u32(ph);
      let uw = u32(pw);
      if (uh % STRIDE != 0u || uw % STRIDE != 0u) { return 0.0; }
      let oh = uh / STRIDE;
      let ow = uw / STRIDE;
      if (oh >= params.Ho || ow >= params.Wo) { return 0.0; }
      return lhs[((r.b * params.Ho + oh) * params.Wo + ow) * params.Cout + q.b];
    }
    case 2u: {
      let kk = tap(u32(r.y));
      let ih = i32(q.b * STRIDE) + kk.x - i32(params.pad_top);
      let iw = i32(q.c * STRIDE) + kk.y - i32(params.pad_left);
      if (ih < 0 || iw < 0 || ih >= i32(params.H) || iw >= i32(params.W)) { return 0.0; }
      return lhs[((q.a * params.H + u32(ih)) * params.W + u32(iw)) * params.Cin + u32(r.x)];
    }
    default: {
      let kk = tap(q.a);
      let ih = r.y * i32(STRIDE) + kk.x - i32(params.pad_top);
      let iw = r.x * i32(STRIDE) + kk.y - i32(params.pad_left);
      if (ih < 0 || iw < 0 || ih >= i32(params.H) || iw >= i32(params.W)) { return 0.0; }
      return lhs[((r.b * params.H + u32(ih)) * params.W + u32(iw)) * params.Cin + q.b];
    }
  }
}

fn load_b(q: Cursor, n: u32, dim: vec3u) -> f32 {
  if (q.k >= dim.z || n >= dim.y) { return 0.0; }
  if (MODE == 1u) { return rhs[(q.a * params.Cin + n) * params.Cout + q.b]; }
  return rhs[q.k * dim.y + n];
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid3: vec3u, @builtin(local_invocation_index) lid: u32) {
  let dim = dims();
  let M = dim.x;
  let N = dim.y;
  let K = dim.z;
  let row0 = wid.y * BM;
  let col0 = wid.x * BN;
  let tx = lid3.x;
  let ty = lid3.y;
  // This invocation stages A[row0 + a_m, k0 + a_k .. +3] and B[k0 + b_k, col0 + b_n .. +3].
  let a_m = lid % BM;
  let a_k = (lid / BM) * 4u;
  let b_k = lid / 16u;
  let b_n = (lid % 16u) * 4u;
  let row = decode_row(row0 + a_m, M);
  var qa = cursor_at(a_k);
  var qb = cursor_at(b_k);
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k0 = 0u; k0 < K; k0 += TK) {
    var q = qa;
    for (var j = 0u; j < 4u; j++) {
      As[(a_k + j) * BM + a_m] = load_a(row, q, K);
      Bs[b_k * BN + b_n + j] = load_b(qb, col0 + b_n + j, dim);
      q = cursor_add(q, 1u);
    }
    qa = cursor_add(qa, TK);
    qb = cursor_add(qb, TK);
    workgroupBarrier();
    for (var kk = 0u; kk < TK; kk++) {
      let ab = kk * BM + ty * 4u;
      let a = vec4<f32>(As[ab], As[ab + 1u], As[ab + 2u], As[ab + 3u]);
      let bb = kk * BN + tx * 4u;
      let b = vec4<f32>(Bs[bb], Bs[bb + 1u], Bs[bb + 2u], Bs[bb + 3u]);
      acc0 = fma(vec4<f32>(a.x), b, acc0);
      acc1 = fma(vec4<f32>(a.y), b, acc1);
      acc2 = fma(vec4<f32>(a.z), b, acc2);
      acc3 = fma(vec4<f32>(a.w), b, acc3);
    }
    workgroupBarrier();
  }
  let accs = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  for (var i = 0u; i < 4u; i++) {
    let m = row0 + ty * 4u + i;
    if (m >= M) { continue; }
    for (var j = 0u; j < 4u; j++) {
      let n = col0 + tx * 4u + j;
      if (n >= N) { continue; }
      var v = accs[i][j];
      if (HAS_BIAS) { v += bias[n]; }
      out[m * N + n] = v;
    }
  }
}
