// The device limits the engine's kernels need, and the check Engine.create() makes on any device, including
// one an application requested itself. Every value fits WebGPU's default limits (what
// `adapter.requestDevice()` gives without requiredLimits), so a default device works; devices with lower
// limits (e.g. WebGPU compatibility mode) are refused with one error listing each limit to request.
// test/engine/limits.test.ts derives these numbers from the kernels (reflection of every WGSL file and every
// workgroup-size specialisation), so they stay true when a kernel changes.

/** The limits a device needs for every kernel of the engine (a plain object: pass it as `requiredLimits`). */
export const ENGINE_LIMITS = {
  /** Most storage buffers one kernel binds (iaf_backward, iaf_posterior_backward): WebGPU's default. */
  maxStorageBuffersPerShaderStage: 8,
  /** Storage buffers plus the one uniform block. */
  maxBindingsPerBindGroup: 9,
  maxBindGroups: 1,
  maxDynamicUniformBuffersPerPipelineLayout: 1,
  /** Largest per-dispatch parameter block. */
  maxUniformBufferBindingSize: 256,
  /**
   * One tensor (or one chunk of an optimizer arena) is one binding. WebGPU's default, 128 MiB; larger models
   * need what the adapter offers (`Engine.create()` without a device requests it).
   */
  maxStorageBufferBindingSize: 134_217_728,
  /** conv2d_wgrad_kpar's reduction buffer (1,024 vec4). */
  maxComputeWorkgroupStorageSize: 16_384,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
  maxComputeWorkgroupSizeY: 32,
  maxComputeWorkgroupSizeZ: 1,
  /** The runner folds larger 1-D grids into 2-D. */
  maxComputeWorkgroupsPerDimension: 65_535,
} as const;

export type EngineLimitName = keyof typeof ENGINE_LIMITS;

export interface LimitShortfall {
  limit: EngineLimitName;
  /** What the device has. */
  device: number;
  /** What the engine needs. */
  required: number;
}

/** Engine.create() refused a device whose limits are below ENGINE_LIMITS; `shortfalls` lists each one. */
export class DeviceLimitsError extends Error {
  override readonly name = 'DeviceLimitsError';
  constructor(readonly shortfalls: readonly LimitShortfall[]) {
    const lines = shortfalls.map((s) => `  - ${s.limit}: the device has ${s.device}, the engine needs ${s.required}`);
    const request = shortfalls.map((s) => `${s.limit}: ${s.required}`).join(', ');
    super(
      `The GPUDevice's limits are too low for the engine's kernels:\n${lines.join('\n')}\n` +
        `Request the device with these limits (the adapter must offer them; check adapter.limits):\n` +
        `  adapter.requestDevice({ requiredLimits: { ${request} } })\n` +
        `or pass ENGINE_LIMITS (exported by the engine) as requiredLimits, or call Engine.create() without a device.`,
    );
  }
}

/** Every limit of ENGINE_LIMITS the device falls short of (empty when it can run every kernel). */
export function limitShortfalls(limits: GPUSupportedLimits): LimitShortfall[] {
  const have = limits as unknown as Record<string, number | undefined>;
  const out: LimitShortfall[] = [];
  for (const [limit, required] of Object.entries(ENGINE_LIMITS) as [EngineLimitName, number][]) {
    const device = have[limit];
    // A limit the implementation does not report (older browsers) is not held against the device.
    if (typeof device === 'number' && device < required) out.push({ limit, device, required });
  }
  return out;
}

/** Throws one DeviceLimitsError naming every limit the device lacks. */
export function checkDeviceLimits(limits: GPUSupportedLimits): void {
  const shortfalls = limitShortfalls(limits);
  if (shortfalls.length) throw new DeviceLimitsError(shortfalls);
}
