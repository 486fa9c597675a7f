// operand4: how a register-blocked matmul / conv kernel (matmul_tiled.wgsl, conv2d_direct.wgsl) holds the
// operands it multiplies. This library: as loaded, f32. Its twin f16_operands_lib.wgsl rounds them to f16 (the
// mixed-precision variants of the same kernels, engine/kernels.ts); accumulation is f32 either way.
fn operand4(v: vec4<f32>) -> vec4<f32> { return v; }
