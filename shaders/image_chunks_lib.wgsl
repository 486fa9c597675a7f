// The (chunk, image) grid of the per-image, per-channel reductions (logistic, logistic_backward, free_bits_stats),
// prepended to each by the engine (engine/kernels.ts WGSL_LIBS 'image_chunks'). Data [B, n_per_image], channels-last
// with C channels; workgroup (chunk, img) takes CHUNK = T * ITEMS elements of image img: thread lid < T (T = n_active
// = floor(256 / C) * C) takes start + it T for it < ITEMS, so a thread always sees the same channel, lid % C. The
// kernels' Params begin n_per_image, channels, n_active, chunks.
const ITEMS: u32 = 8u;

// Workgroup (chunk, img) as thread lid sees it: the image, n = n_per_image, t = n_active, the thread's first element
// in the image (start), and slot = img * chunks + chunk, the workgroup's partial.
struct Chunk { img: u32, n: u32, t: u32, start: u32, slot: u32 }

fn chunk_of(wid: vec3u, lid: u32) -> Chunk {
  let t = params.n_active;
  return Chunk(wid.y, params.n_per_image, t, wid.x * t * ITEMS + lid, wid.y * params.chunks + wid.x);
}
