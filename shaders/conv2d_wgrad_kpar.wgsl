// Weight gradient dw[t, ci, co] = sum over output pixels k = (b, oy, ox) of x[b, oy s + kh_t - pad_top,
// ox s + kw_t - pad_left, ci] * dy[k, co], for layers with few channels: a workgroup of 64 invocations
// computes ONE 8x8 block of (ci, co) for one tap and one K chunk, its invocations splitting the chunk's
// output pixels among themselves (invocation l takes pixels k0 + l, k0 + l + 64, ... or, with CONTIG, the
// l-th contiguous sub-chunk). Each invocation accumulates an 8x8 partial block in registers (4 mat4x4, 64
// FMAs per 16 loads and one bounds check per pixel); the 64 partial blocks are then summed through
// workgroup memory after one barrier (16 invocations, one vec4 of the block each) and stored, masked, into
// the partial sums [splits, T, Cin, Cout] (workgroup z = split * T + tap, x over Cout / 8, y over Cin / 8),
// exactly like conv2d_direct.wgsl's MODE 2. Channel indices are clamped for loads (no branches in the K
// loop); padding pixels load pixel 0 and are zeroed by a mask. No bias term (HAS_BIAS is ignored).
// Params, tap(), STRIDE, bias, out and the register block (acc00..acc11, fma_block) come from conv2d_lib.wgsl, prepended
// by the engine.
override CONTIG: bool = false;
// Cin and Cout multiples of 4: each 8-channel row is two aligned vec4 loads (else 8 component loads).
override VEC4: bool = false;
@group(0) @binding(1) var<storage, read> lhs: array<vec4f>;
@group(0) @binding(2) var<storage, read> rhs: array<vec4f>;

// The 64 partial blocks: vec4 i (row i / 2, columns 4 (i % 2) .. + 3) of invocation p at p * 16 + i.
var<workgroup> red: array<vec4f, 1024>;

// Element i of a float array bound as vec4s (bindings cover whole vec4s: the runner rounds sizes up to 16 bytes).
fn lx(i: u32) -> f32 { return lhs[i / 4u][i % 4u]; }
fn ldy(i: u32) -> f32 { return rhs[i / 4u][i % 4u]; }

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) l: u32, @builtin(workgroup_id) wid: vec3u) {
  let Cin = params.Cin;
  let Cout = params.Cout;
  let H = params.H;
  let W = params.W;
  let Ho = params.Ho;
  let Wo = params.Wo;
  let ci0 = wid.y * 8u;
  let co0 = wid.x * 8u;
  let m0 = min(vec4u(ci0) + vec4u(0u, 1u, 2u, 3u), vec4u(Cin - 1u));
  let m1 = min(vec4u(ci0) + vec4u(4u, 5u, 6u, 7u), vec4u(Cin - 1u));
  let n0 = min(vec4u(co0) + vec4u(0u, 1u, 2u, 3u), vec4u(Cout - 1u));
  let n1 = min(vec4u(co0) + vec4u(4u, 5u, 6u, 7u), vec4u(Cout - 1u));
  // VEC4: vec4 offsets of the block's two channel quads (the second clamped: exact since Cin % 4 == 0).
  let i0 = ci0 / 4u;
  let i1 = min(i0 + 1u, Cin / 4u - 1u);
  let j0 = co0 / 4u;
  let j1 = min(j0 + 1u, Cout / 4u - 1u);
  let t = wid.z % params.T;
  let kk = tap(t);
  let K = params.B * Ho * Wo;
  let k0 = (wid.z / params.T) * params.k_chunk;
  let k1 = min(K, k0 + params.k_chunk);

  // This invocation's pixels: kb, kb + step, ... below ke.
  var kb = k0 + l;
  var step = 64u;
  var ke = k1;
  if (CONTIG) {
    let sub = (params.k_chunk + 63u) / 64u;
    kb = k0 + l * sub;
    step = 1u;
    ke = min(k1, kb + sub);
  }
  let n = select(0u, (ke - kb + step - 1u) / step, kb < ke);
  // Pixel step as (b, oy, ox) increments with single carries.
  let sx = step % Wo;
  let sq = step / Wo;
  let sy = sq % Ho;
  let sb = sq / Ho;
  let kc = min(kb, K - 1u);
  var ox = kc % Wo;
  var oy = (kc / Wo) % Ho;
  var b = kc / (Wo * Ho);
  var g = kc * Cout;
  let gs = step * Cout;
  let s = i32(STRIDE);
  let dy0 = kk.x - i32(params.pad_top);
  let dx0 = kk.y - i32(params.pad_left);

  acc00 = mat4x4<f32>(); acc01 = mat4x4<f32>(); acc10 = mat4x4<f32>(); acc11 = mat4x4<f32>();
  for (var j = 0u; j < n; j++) {
    let iy = i32(oy) * s + dy0;
    let ix = i32(ox) * s + dx0;
    let ok = iy >= 0 && iy < i32(H) && ix >= 0 && ix < i32(W);
    let xb = select(0u, ((b * H + u32(iy)) * W + u32(ix)) * Cin, ok);
    let f = select(0.0, 1.0, ok);
    var a0: vec4f; var a1: vec4f; var b0: vec4f; var b1: vec4f;
    if (VEC4) {
      let xv = xb / 4u;
      let gv = g / 4u;
      a0 = lhs[xv + i0] * f;
      a1 = lhs[xv + i1] * f;
      b0 = rhs[gv + j0];
      b1 = rhs[gv + j1];
    } else {
      a0 = vec4f(lx(xb + m0.x), lx(xb + m0.y), lx(xb + m0.z), lx(xb + m0.w)) * f;
      a1 = vec4f(lx(xb + m1.x), lx(xb + m1.y), lx(xb + m1.z), lx(xb + m1.w)) * f;
      b0 = vec4f(ldy(g + n0.x), ldy(g + n0.y), ldy(g + n0.z), ldy(g + n0.w));
      b1 = vec4f(ldy(g + n1.x), ldy(g + n1.y), ldy(g + n1.z), ldy(g + n1.w));
    }
    fma_block(a0, a1, b0, b1);
    g += gs;
    ox += sx;
    let cx = ox >= Wo;
    ox = select(ox, ox - Wo, cx);
    oy += sy + select(0u, 1u, cx);
    let cy = oy >= Ho;
    oy = select(oy, oy - Ho, cy);
    b += sb + select(0u, 1u, cy);
  }

  let p = l * 16u;
  for (var q = 0u; q < 4u; q++) {
    red[p + 2u * q] = acc00[q];
    red[p + 2u * q + 1u] = acc01[q];
    red[p + 8u + 2u * q] = acc10[q];
    red[p + 9u + 2u * q] = acc11[q];
  }
  workgroupBarrier();
  if (l < 16u) {
    var s0 = vec4f(0.0);
    var s1 = vec4f(0.0);
    var s2 = vec4f(0.0);
    var s3 = vec4f(0.0);
    for (var r = 0u; r < 1024u; r += 64u) {
      s0 += red[r + l];
      s1 += red[r + 16u + l];
      s2 += red[r + 32u + l];
      s3 += red[r + 48u + l];
    }
    let v = (s0 + s1) + (s2 + s3);
    let ci = ci0 + l / 2u;
    let c = co0 + 4u * (l % 2u);
    if (ci < Cin) {
      let o = (wid.z * Cin + ci) * Cout;
      for (var i = 0u; i < 4u; i++) {
        if (c + i < Cout) { out[o + c + i] = v[i]; }
      }
    }
  }
}
