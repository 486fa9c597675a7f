// Register-blocked implicit-GEMM convolution without workgroup memory (the structure of matmul_tiled.wgsl,
// the fastest on lavapipe, where staging through workgroup memory and barriers only adds work). A workgroup
// of WGX x WGY invocations computes an (8 WGY) x (8 WGX) output tile (64x64 by default; 256x16 and 128x32
// for layers with few output channels); each invocation 8 rows x 8 columns (4 mat4x4 accumulators),
// loading its 8 A values and 8 B values straight from memory per K step. Out-of-range rows/columns are
// clamped for loading (loads stay in bounds, no branches in the K loop) and masked on the store.
//   MODE 0 forward: rows = output pixels (b, oy, ox), cols = Cout, K = taps x Cin. Per tap, each row's input
//          pixel and its validity are computed once; the inner loop over Cin is two multiplies per load.
//   MODE 1 dgrad:   rows = input pixels sorted by stride phase (see decode_dgrad), cols = Cin, K = taps x
//          Cout. Per tap, each row finds the output pixel it came from (stride divisibility, bounds) once, and
//          taps reaching none of an invocation's rows are skipped.
//   MODE 2 wgrad:   one tap per workgroup z; rows = Cin, cols = Cout, K = output pixels, split into chunks
//          of k_chunk (z = split * T + tap; partial sums [splits, T, Cin, Cout] are summed afterwards, so small
//          layers still spread over many workgroups). Per K step one shifted input pixel (one bounds check)
//          feeds all 8 rows, whose channels are contiguous.
// Params, tap(), HAS_BIAS, STRIDE, bias, out and the register block (acc00..acc11, fma_block) come from conv2d_lib.wgsl,
// prepended by the engine. The operands pass through operand4 (f32_operands_lib.wgsl; f16_operands_lib.wgsl rounds
// them to f16 for the mixed-precision conv2d_direct_f16).
override MODE: u32 = 0u;
override WGX: u32 = 8u;
override WGY: u32 = 8u;
@group(0) @binding(1) var<storage, read> lhs: array<f32>;
@group(0) @binding(2) var<storage, read> rhs: array<f32>;

fn mn() -> vec2u {
  switch MODE {
    case 1u: { return vec2u(dgrad_rows(), params.Cin); }
    case 2u: { return vec2u(params.Cin, params.Cout); }
    default: { return vec2u(params.B * params.Ho * params.Wo, params.Cout); }
  }
}

// Rows of an invocation: 4 * (ty + WGY * h) + q for h in {0, 1}, q in 0..3 (lo: h = 0, hi: h = 1).
fn rows4(row0: u32, ty: u32, h: u32, M: u32) -> vec4u {
  let r = row0 + 4u * (ty + WGY * h);
  return min(vec4u(r, r + 1u, r + 2u, r + 3u), vec4u(M - 1u));
}

struct Pix { b: vec4u, y: vec4i, x: vec4i }

// MODE 1 walks input pixels sorted by stride phase: row m = (((b * S + py) * S + px) * Hs + qy) * Ws + qx for
// pixel (qy * S + py, qx * S + px), S = STRIDE, Hs = ceil(H / S), Ws = ceil(W / S). Neighbouring rows then share
// their phase, so they share the taps that reach an output pixel and the other taps are skipped whole (with
// stride 2, 3 of 4). Rows past the image edge (phase grids are padded to Hs x Ws) are masked.
fn dgrad_rows() -> u32 {
  return params.B * STRIDE * STRIDE * ((params.H + STRIDE - 1u) / STRIDE) * ((params.W + STRIDE - 1u) / STRIDE);
}

fn decode_dgrad(m: vec4u) -> Pix {
  let hs = (params.H + STRIDE - 1u) / STRIDE;
  let ws = (params.W + STRIDE - 1u) / STRIDE;
  var p: Pix;
  let qx = m % ws;
  var r = m / ws;
  let qy = r % hs;
  r = r / hs;
  let px = r % STRIDE;
  r = r / STRIDE;
  let py = r % STRIDE;
  p.b = r / STRIDE;
  p.y = vec4i(qy * STRIDE + py);
  p.x = vec4i(qx * STRIDE + px);
  return p;
}

/** Destination row (input pixel index) of a MODE 1 row, or 0xffffffff past the image edge. */
fn dgrad_dest(m: u32) -> u32 {
  let p = decode_dgrad(vec4u(m));
  if (p.y.x >= i32(params.H) || p.x.x >= i32(params.W)) { return 0xffffffffu; }
  return (p.b.x * params.H + u32(p.y.x)) * params.W + u32(p.x.x);
}

fn decode(m: vec4u, h: u32, w: u32) -> Pix {
  var p: Pix;
  p.x = vec4i(m % w);
  let q = m / w;
  p.y = vec4i(q % h);
  p.b = q / h;
  return p;
}

fn inside(y: vec4i, x: vec4i, h: u32, w: u32) -> vec4<bool> {
  return (y >= vec4i(0)) & (x >= vec4i(0)) & (y < vec4i(i32(h))) & (x < vec4i(i32(w)));
}

fn gather4(base: vec4u, k: u32, mask: vec4f) -> vec4f {
  return vec4f(lhs[base.x + k], lhs[base.y + k], lhs[base.z + k], lhs[base.w + k]) * mask;
}

@compute @workgroup_size(WGX, WGY, 1)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let dims = mn();
  let M = dims.x;
  let N = dims.y;
  let tx = lid.x;
  let ty = lid.y;
  let row0 = wid.y * 8u * WGY;
  let col0 = wid.x * 8u * WGX;
  let m0 = rows4(row0, ty, 0u, M);
  let m1 = rows4(row0, ty, 1u, M);
  let c0 = col0 + 4u * tx;
  let c1 = col0 + 4u * (tx + WGX);
  let n0 = min(vec4u(c0, c0 + 1u, c0 + 2u, c0 + 3u), vec4u(N - 1u));
  let n1 = min(vec4u(c1, c1 + 1u, c1 + 2u, c1 + 3u), vec4u(N - 1u));
  acc00 = mat4x4<f32>(); acc01 = mat4x4<f32>(); acc10 = mat4x4<f32>(); acc11 = mat4x4<f32>();
  let Cin = params.Cin;
  let Cout = params.Cout;
  let s = i32(STRIDE);
  let pt = i32(params.pad_top);
  let pl = i32(params.pad_left);
  if (MODE == 0u) {
    let p0 = decode(m0, params.Ho, params.Wo);
    let p1 = decode(m1, params.Ho, params.Wo);
    for (var t = 0u; t < params.T; t++) {
      let kk = tap(t);
      let y0 = p0.y * s + kk.x - pt; let x0 = p0.x * s + kk.y - pl;
      let y1 = p1.y * s + kk.x - pt; let x1 = p1.x * s + kk.y - pl;
      let v0 = inside(y0, x0, params.H, params.W);
      let v1 = inside(y1, x1, params.H, params.W);
      let f0 = select(vec4f(0.0), vec4f(1.0), v0);
      let f1 = select(vec4f(0.0), vec4f(1.0), v1);
      let base0 = select(vec4u(0u), ((p0.b * params.H + vec4u(y0)) * params.W + vec4u(x0)) * Cin, v0);
      let base1 = select(vec4u(0u), ((p1.b * params.H + vec4u(y1)) * params.W + vec4u(x1)) * Cin, v1);
      var wrow = t * Cin * Cout;
      for (var ci = 0u; ci < Cin; ci++) {
        let a0 = gather4(base0, ci, f0);
        let a1 = gather4(base1, ci, f1);
        let b0 = vec4f(rhs[wrow + n0.x], rhs[wrow + n0.y], rhs[wrow + n0.z], rhs[wrow + n0.w]);
        let b1 = vec4f(rhs[wrow + n1.x], rhs[wrow + n1.y], rhs[wrow + n1.z], rhs[wrow + n1.w]);
        fma_block(operand4(a0), operand4(a1), operand4(b0), operand4(b1));
        wrow += Cout;
      }
    }
  } else if (MODE == 1u) {
    let p0 = decode_dgrad(m0);
    let p1 = decode_dgrad(m1);
    let row0_ok = (p0.y < vec4i(i32(params.H))) & (p0.x < vec4i(i32(params.W)));
    let row1_ok = (p1.y < vec4i(i32(params.H))) & (p1.x < vec4i(i32(params.W)));
    for (var t = 0u; t < params.T; t++) {
      let kk = tap(t);
      let qy0 = p0.y + pt - kk.x; let qx0 = p0.x + pl - kk.y;
      let qy1 = p1.y + pt - kk.x; let qx1 = p1.x + pl - kk.y;
      // Output pixel o with o * s + k - pad = i: needs q = i + pad - k >= 0 and divisible by s.
      let ok0 = (qy0 >= vec4i(0)) & (qx0 >= vec4i(0)) & (vec4u(max(qy0, vec4i(0))) % STRIDE == vec4u(0u)) & (vec4u(max(qx0, vec4i(0))) % STRIDE == vec4u(0u));
      let ok1 = (qy1 >= vec4i(0)) & (qx1 >= vec4i(0)) & (vec4u(max(qy1, vec4i(0))) % STRIDE == vec4u(0u)) & (vec4u(max(qx1, vec4i(0))) % STRIDE == vec4u(0u));
      let oy0 = max(qy0, vec4i(0)) / s; let ox0 = max(qx0, vec4i(0)) / s;
      let oy1 = max(qy1, vec4i(0)) / s; let ox1 = max(qx1, vec4i(0)) / s;
      let v0 = ok0 & row0_ok & inside(oy0, ox0, params.Ho, params.Wo);
      let v1 = ok1 & row1_ok & inside(oy1, ox1, params.Ho, params.Wo);
      // Skip a tap none of this invocation's rows reach (most taps, with stride 2 and phase-sorted rows).
      if (!any(v0) && !any(v1)) { continue; }
      let f0 = select(vec4f(0.0), vec4f(1.0), v0);
      let f1 = select(vec4f(0.0), vec4f(1.0), v1);
      let base0 = select(vec4u(0u), ((p0.b * params.Ho + vec4u(oy0)) * params.Wo + vec4u(ox0)) * Cout, v0);
      let base1 = select(vec4u(0u), ((p1.b * params.Ho + vec4u(oy1)) * params.Wo + vec4u(ox1)) * Cout, v1);
      let w0 = (t * Cin + n0) * Cout;
      let w1 = (t * Cin + n1) * Cout;
      for (var co = 0u; co < Cout; co++) {
        let a0 = gather4(base0, co, f0);
        let a1 = gather4(base1, co, f1);
        let b0 = vec4f(rhs[w0.x + co], rhs[w0.y + co], rhs[w0.z + co], rhs[w0.w + co]);
        let b1 = vec4f(rhs[w1.x + co], rhs[w1.y + co], rhs[w1.z + co], rhs[w1.w + co]);
        fma_block(operand4(a0), operand4(a1), operand4(b0), operand4(b1));
      }
    }
  } else {
    // Split K: workgroup z = split * T + tap handles output pixels [split * k_chunk, (split + 1) * k_chunk).
    let t = wid.z % params.T;
    let kk = tap(t);
    let K = params.B * params.Ho * params.Wo;
    let k0 = (wid.z / params.T) * params.k_chunk;
    let k1 = min(K, k0 + params.k_chunk);
    var ox = k0 % params.Wo;
    var oy = (k0 / params.Wo) % params.Ho;
    var b = k0 / (params.Wo * params.Ho);
    var g = k0 * Cout;
    for (var k = k0; k < k1; k++) {
      let iy = i32(oy) * s + kk.x - pt;
      let ix = i32(ox) * s + kk.y - pl;
      if (iy >= 0 && iy < i32(params.H) && ix >= 0 && ix < i32(params.W)) {
        let xb = ((b * params.H + u32(iy)) * params.W + u32(ix)) * Cin;
        let a0 = vec4f(lhs[xb + m0.x], lhs[xb + m0.y], lhs[xb + m0.z], lhs[xb + m0.w]);
        let a1 = vec4f(lhs[xb + m1.x], lhs[xb + m1.y], lhs[xb + m1.z], lhs[xb + m1.w]);
        let b0 = vec4f(rhs[g + n0.x], rhs[g + n0.y], rhs[g + n0.z], rhs[g + n0.w]);
        let b1 = vec4f(rhs[g + n1.x], rhs[g + n1.y], rhs[g + n1.z], rhs[g + n1.w]);
        fma_block(operand4(a0), operand4(a1), operand4(b0), operand4(b1));
      }
      g += Cout;
      ox += 1u;
      if (ox == params.Wo) {
        ox = 0u;
        oy += 1u;
        if (oy == params.Ho) { oy = 0u; b += 1u; }
      }
    }
  }
  // MODE 2 writes block z of the partial sums [splits, T, Cin, Cout].
  var obase = 0u;
  if (MODE == 2u) { obase = wid.z * M * N; }
  let r0 = row0 + 4u * ty;
  let r1 = row0 + 4u * (ty + WGY);
  for (var q = 0u; q < 4u; q++) {
    var d0 = r0 + q;
    var d1 = r1 + q;
    if (MODE == 1u) {
      d0 = select(0xffffffffu, dgrad_dest(d0), d0 < M);
      d1 = select(0xffffffffu, dgrad_dest(d1), d1 < M);
    }
    store_row_at(obase, d0, c0, c1, M, N, acc00[q], acc01[q]);
    store_row_at(obase, d1, c0, c1, M, N, acc10[q], acc11[q]);
  }
}

fn store_row_at(obase: u32, m: u32, c0: u32, c1: u32, M: u32, N: u32, v0: vec4f, v1: vec4f) {
  if (m >= M) { return; }
  let o = obase + m * N;
  let vals = array<f32, 8>(v0.x, v0.y, v0.z, v0.w, v1.x, v1.y, v1.z, v1.w);
  for (var j = 0u; j < 8u; j++) {
    let n = select(c1 + j - 4u, c0 + j, j < 4u);
    if (n < N) {
      var r = vals[j];
      if (HAS_BIAS) { r += bias[n]; }
      out[o + n] = r;
    }
  }
}
