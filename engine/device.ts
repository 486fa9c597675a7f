// Getting a GPUDevice: from Dawn in Node (the `webgpu` package), from navigator.gpu in a browser, or handed
// in by an embedding application. We always request the adapter's real limits (defaults are far lower) and
// detect optional features instead of assuming them.

export interface DeviceFeatures {
  shaderF16: boolean;
  subgroups: boolean;
  timestampQuery: boolean;
}

/** What identifies the adapter and the WebGPU implementation (the tuning cache's key; engine/tuning/cache.ts). */
export interface AdapterIdentity {
  /** vendor / architecture / device / description, as the adapter reports them. */
  device: string;
  /** The WebGPU implementation and its version: 'dawn-node webgpu@0.6.2', or the browser's user agent. */
  backend: string;
  /** Smallest and largest subgroup sizes the adapter may use (0 when not reported). */
  subgroupMinSize: number;
  subgroupMaxSize: number;
  /** Subgroup-matrix configurations reported (chromium-experimental-subgroup-matrix; 0 when none). */
  subgroupMatrixConfigs: number;
}

export interface AcquiredDevice {
  device: GPUDevice;
  features: DeviceFeatures;
  /** Adapter description for logs: vendor / architecture / description where the platform reports them. */
  description: string;
  identity: AdapterIdentity;
  /** True when this module created the device (and so must destroy it). */
  owned: boolean;
}

export interface DeviceOptions {
  /** Use this device instead of creating one (embedding applications). */
  device?: GPUDevice;
  /** WebGPU's GPUPowerPreference, spelled out: the declarations name no WebGPU type alias (see index.ts). */
  powerPreference?: 'low-power' | 'high-performance';
  /** Ask for timestamp-query (and, on Dawn, unquantised timestamps) for per-kernel timing. */
  timing?: boolean;
}

const NO_ADAPTER_HELP = `No WebGPU adapter was found.
  - On a machine with a GPU: install its Vulkan (Linux), Metal (macOS) or D3D12 (Windows) driver.
  - Without a GPU (Linux, Debian bookworm): install Mesa >= 24 lavapipe (CPU Vulkan) from bookworm-backports:
      echo 'Types: deb
      URIs: http://deb.debian.org/debian
      Suites: bookworm-backports
      Components: main
      Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' | sudo tee /etc/apt/sources.list.d/backports.sources
      sudo apt-get update && sudo apt-get install -y --no-install-recommends -t bookworm-backports mesa-vulkan-drivers libvulkan1
    (Debian's default Mesa 22.3 is rejected by Dawn.) On Ubuntu >= 24.04: sudo apt-get install mesa-vulkan-drivers.
  - In a browser: use one with WebGPU enabled (Chrome/Edge >= 113, or --enable-unsafe-webgpu).`;

/** Dawn's `create()` result must stay referenced while any adapter or device from it lives (docs/ENGINE.md §1). */
let dawnGpu: GPU | null = null;
/** The `webgpu` package's version, for the tuning cache's key (read once with its module). */
let dawnVersion = 'unknown';

/** The `webgpu` package is an optional peer dependency: Node users install it, browser users do not. */
export const WEBGPU_MISSING_HELP = `Engine.create() in Node needs WebGPU from the 'webgpu' package (Dawn for Node), which is not installed.
  Install it next to agave-webgpu:  npm install webgpu
  (or pass your own device: Engine.create({ device }))`;

async function nodeGpu(timing: boolean): Promise<GPU> {
  if (dawnGpu) return dawnGpu;
  // A variable specifier keeps bundlers from resolving (or inlining) the package for the browser build.
  const moduleName = 'webgpu';
  let mod: { create: (flags: string[]) => GPU };
  try {
    mod = (await import(/* @vite-ignore */ moduleName)) as typeof mod;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || /Cannot find (package|module) 'webgpu'/.test(String(err))) {
      throw new Error(WEBGPU_MISSING_HELP);
    }
    throw new Error(`Cannot load the 'webgpu' package (Dawn for Node): ${(err as Error).message}. Try 'npm install webgpu' again.`);
  }
  // The engine needs none of the package's globals (GPUBufferUsage etc.; see webgpu_constants.ts): it installs none.
  // Timestamps are quantised to 65,536 ns by default; per-kernel timing needs them exact.
  const flags = timing ? ['disable-dawn-features=timestamp_quantization'] : [];
  dawnGpu = mod.create(flags);
  await readDawnVersion();
  return dawnGpu;
}

/** The `webgpu` package's version (Dawn for Node), once: it refines the tuning cache's key ('unknown' if unreadable). */
async function readDawnVersion(): Promise<void> {
  if (dawnVersion !== 'unknown') return;
  try {
    const moduleApi = 'node:module';
    const { createRequire } = (await import(/* @vite-ignore */ moduleApi)) as { createRequire(from: string): (id: string) => { version?: string } };
    // Resolved from this module, as its import of 'webgpu' is (not from the working directory).
    dawnVersion = createRequire(import.meta.url)('webgpu/package.json').version ?? 'unknown';
  } catch {
    // the version only refines the cache key
  }
}

function isNode(): boolean {
  // Through globalThis so the declarations need no Node types (browser consumers have none).
  const proc = (globalThis as { process?: { versions?: { node?: unknown } } }).process;
  return typeof proc?.versions?.node === 'string';
}

function describe(info: GPUAdapterInfo | undefined): string {
  if (!info) return 'unknown adapter';
  const parts = [info.vendor, info.architecture, info.device, info.description].filter((s) => s && s.length > 0);
  return parts.length ? parts.join(' / ') : 'unknown adapter';
}

type InfoWithSubgroups = GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number; subgroupMatrixConfigs?: readonly unknown[] };

/** The identity of the adapter behind `info` (the device's adapterInfo for a device the application made). */
export function identityOf(info: GPUAdapterInfo | undefined, node: boolean): AdapterIdentity {
  const i = info as InfoWithSubgroups | undefined;
  const ua = (globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent;
  return {
    device: describe(info),
    backend: node ? `dawn-node webgpu@${dawnVersion}` : `browser ${ua ?? 'unknown'}`,
    subgroupMinSize: i?.subgroupMinSize ?? 0,
    subgroupMaxSize: i?.subgroupMaxSize ?? 0,
    subgroupMatrixConfigs: i?.subgroupMatrixConfigs?.length ?? 0,
  };
}

export function featuresOf(device: GPUDevice): DeviceFeatures {
  return {
    shaderF16: device.features.has('shader-f16'),
    subgroups: device.features.has('subgroups'),
    timestampQuery: device.features.has('timestamp-query'),
  };
}

const LIMITS_TO_REQUEST = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
  'maxUniformBufferBindingSize',
  'maxBindGroups',
] as const;

export async function acquireDevice(options: DeviceOptions = {}): Promise<AcquiredDevice> {
  if (options.device) {
    const info = (options.device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
    if (isNode()) await readDawnVersion(); // a device made in Node comes from the webgpu package
    return { device: options.device, features: featuresOf(options.device), description: 'device supplied by the application', identity: identityOf(info, isNode()), owned: false };
  }
  let gpu: GPU | undefined;
  if (typeof navigator !== 'undefined' && (navigator as Navigator).gpu) gpu = (navigator as Navigator).gpu;
  else if (isNode()) gpu = await nodeGpu(options.timing ?? false);
  if (!gpu) throw new Error(NO_ADAPTER_HELP);
  const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
  if (!adapter) throw new Error(NO_ADAPTER_HELP);
  const requiredLimits: Record<string, number> = {};
  for (const name of LIMITS_TO_REQUEST) {
    const value = (adapter.limits as unknown as Record<string, number | undefined>)[name];
    if (typeof value === 'number') requiredLimits[name] = value;
  }
  const requiredFeatures: GPUFeatureName[] = [];
  for (const f of ['shader-f16', 'subgroups'] as const) if (adapter.features.has(f)) requiredFeatures.push(f);
  if (options.timing && adapter.features.has('timestamp-query')) requiredFeatures.push('timestamp-query');
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  return { device, features: featuresOf(device), description: describe(adapter.info), identity: identityOf(adapter.info, isNode() && gpu === dawnGpu), owned: true };
}
