// Finiteness of the whole training state after an update (engine/optim.ts ParameterSet.nonFiniteCheck): one
// pass over a chunk of the parameter, EMA and Adamax v/u arenas (same layout, element i of each belongs to the
// same scalar), fused into one reduction whose result is the first non-finite element of each arena.
// first[k] (k = 0 params, 1 ema, 2 v, 3 u) holds max(total - index) over the non-finite elements of arena k,
// 0 when all are finite: the first bad index is total - first[k]. Encoding "earliest" as a maximum keeps the
// zero-initialised buffer meaning "none", and the stored values (<= total < 0x7f800000) are never NaN bit patterns
// when the u32s travel back as float32. Chunks are separate dispatches into the same four atomics; `base` is
// the chunk's offset in the arena. Arenas a caller lacks are bound to the parameter window (read-only aliases).
// Non-finite is tested on the bit pattern (exponent all ones): WGSL compilers may assume floats are finite.
struct Params { n: u32, base: u32, total: u32, _p0: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> p: array<f32>;
@group(0) @binding(2) var<storage, read> ema: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> u: array<f32>;
@group(0) @binding(5) var<storage, read_write> first: array<atomic<u32>>;

fn bad(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7f800000u) == 0x7f800000u;
}

// No workgroup reduction (barriers are costly on CPU Vulkan): non-finite values are rare, so each thread keeps
// its own earliest hit and only a thread that saw one touches the atomics (at most one atomicMax per arena).
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let w = wid.y * nwg.x + wid.x;
  let stride = nwg.x * nwg.y * 256u;
  var m = vec4<u32>(0u);
  for (var i = w * 256u + lid; i < params.n; i += stride) {
    // total - (base + i): larger means earlier; a thread's first hit is its largest, so max keeps it.
    let key = params.total - (params.base + i);
    let hit = vec4<bool>(bad(p[i]), bad(ema[i]), bad(v[i]), bad(u[i]));
    m = max(m, select(vec4<u32>(0u), vec4<u32>(key), hit));
  }
  for (var k = 0u; k < 4u; k++) {
    if (m[k] != 0u) {
      atomicMax(&first[k], m[k]);
    }
  }
}
