// operand4 for the mixed-precision variants of the register-blocked matmul and conv kernels (matmul_tiled_f16,
// conv2d_direct_f16 in engine/kernels.ts; the registry opens them with `enable f16;`, the adapter feature
// shader-f16): each operand is held as an f16 (rounded to nearest even, 11 significant bits, overflow to
// infinity, f16 subnormals kept); the product of two f16 values is exact in f32 and the sums accumulate in f32.
// The f16 bits are decoded with integer operations: an f32 -> f16 -> f32 round trip written as two conversions
// is removed by Mesa's shader compiler (lavapipe returned the f32 value unrounded), which would make the
// variant's numerics depend on the driver. Zero, subnormal and infinite f16 values decode exactly.
fn operand4(v: vec4<f32>) -> vec4<f32> {
  let u = bitcast<vec2<u32>>(vec4<f16>(v));
  let h = vec4<u32>(u.x & 0xffffu, u.x >> 16u, u.y & 0xffffu, u.y >> 16u);
  let sign = (h >> vec4<u32>(15u)) << vec4<u32>(31u);
  let e = (h >> vec4<u32>(10u)) & vec4<u32>(31u);
  let m = h & vec4<u32>(1023u);
  // f16 exponent bias 15, f32's 127: a normal number's exponent field moves up by 112.
  let normal = bitcast<vec4<f32>>(sign | ((e + vec4<u32>(112u)) << vec4<u32>(23u)) | (m << vec4<u32>(13u)));
  // A subnormal f16 is m * 2^-24 (exact in f32).
  let small = bitcast<vec4<f32>>(sign | bitcast<vec4<u32>>(vec4<f32>(m) * 5.9604645e-8));
  let special = bitcast<vec4<f32>>(sign | vec4<u32>(0x7f800000u) | (m << vec4<u32>(13u)));
  return select(select(normal, special, e == vec4<u32>(31u)), small, e == vec4<u32>(0u));
}
