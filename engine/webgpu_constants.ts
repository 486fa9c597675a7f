// The numeric values of WebGPU's flag namespaces (GPUBufferUsage, GPUMapMode, GPUShaderStage), fixed by the
// WebGPU specification. The engine uses these instead of the globals, which exist in browsers but not in Node
// unless an application installs the `webgpu` package's globals: a device the application made itself
// works as is. Exported for applications too: TypeScript 6.0.3's and 7.0.2's DOM lib declares the WebGPU
// interfaces but not these three namespaces.
export const BufferUsage = {
  MAP_READ: 0x0001,
  MAP_WRITE: 0x0002,
  COPY_SRC: 0x0004,
  COPY_DST: 0x0008,
  INDEX: 0x0010,
  VERTEX: 0x0020,
  UNIFORM: 0x0040,
  STORAGE: 0x0080,
  INDIRECT: 0x0100,
  QUERY_RESOLVE: 0x0200,
} as const;

export const MapMode = { READ: 0x0001, WRITE: 0x0002 } as const;

export const ShaderStage = { VERTEX: 0x1, FRAGMENT: 0x2, COMPUTE: 0x4 } as const;
