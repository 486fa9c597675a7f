// Which GPU a rank uses (docs/DISTRIBUTED.md, "Which GPU a rank uses"). WebGPU has no adapter index, and Dawn
// picks among adapters by name only (its `adapter=` flag), which cannot tell identical GPUs apart. On Linux
// (Vulkan) this module therefore chooses before WebGPU starts, through Mesa's Vulkan device-select layer (an
// implicit layer in Debian's mesa-vulkan-drivers that reorders the physical devices of every Vulkan driver,
// NVIDIA's included): the rank with local rank i takes the i-th display-class PCI device of its host in PCI
// address order (DRI_PRIME=pci-DDDD_BB_DD_F, and MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE=1 so it is the
// only device the driver reports). A user's own DRI_PRIME / MESA_VK_DEVICE_SELECT wins; a host with one GPU
// (a container or Slurm task given one GPU, the usual way) or none (lavapipe) needs no choice.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface PciDisplayDevice {
  /** PCI address as sysfs names it: DDDD:BB:DD.F. */
  address: string;
  vendor: string;
  device: string;
}

/** The display-class (0x03xxxx: VGA, 3D, display controllers) PCI devices of this host, in address order. */
export function displayDevices(root = '/sys/bus/pci/devices'): PciDisplayDevice[] {
  if (!existsSync(root)) return [];
  const read = (dir: string, f: string): string => {
    try {
      return readFileSync(join(root, dir, f), 'utf8').trim();
    } catch {
      return '';
    }
  };
  return readdirSync(root)
    .filter((d) => /^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/i.test(d) && /^0x03/i.test(read(d, 'class')))
    .sort()
    .map((address) => ({ address, vendor: read(address, 'vendor'), device: read(address, 'device') }));
}

/** The device-select layer's DRI_PRIME value for a PCI address (pci-DDDD_BB_DD_F). */
export function driPrimeOf(address: string): string {
  const m = /^([0-9a-f]{4}):([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])$/i.exec(address);
  if (!m) throw new Error(`not a PCI address: ${address}`);
  return `pci-${m[1]}_${m[2]}_${m[3]}_${m[4]}`;
}

/**
 * Chooses this rank's GPU by setting the device-select variables in `env` (process.env: read by the Vulkan
 * layer when WebGPU starts, so call it first); returns what was chosen, for the rank's start-up line.
 */
export function selectGpu(localRank: number, localRanks: number, env: NodeJS.ProcessEnv, root?: string): string {
  if (env.DRI_PRIME || env.MESA_VK_DEVICE_SELECT) {
    return `GPU chosen by the environment (${env.DRI_PRIME ? `DRI_PRIME=${env.DRI_PRIME}` : `MESA_VK_DEVICE_SELECT=${env.MESA_VK_DEVICE_SELECT}`})`;
  }
  const gpus = displayDevices(root);
  const sharing = (n: number): string => (localRanks > n ? `; ${localRanks} ranks share ${n === 1 ? 'it' : `these ${n}`} on this host` : '');
  if (gpus.length === 0) return `no PCI display device on this host: WebGPU's default adapter (e.g. lavapipe)${sharing(1)}`;
  if (gpus.length === 1) return `the host's one GPU (${gpus[0]!.address}, ${gpus[0]!.vendor}:${gpus[0]!.device})${sharing(1)}`;
  const i = localRank % gpus.length;
  const g = gpus[i]!;
  env.DRI_PRIME = driPrimeOf(g.address);
  env.MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE = '1';
  return `GPU ${i} of ${gpus.length} by PCI address: ${g.address} (${g.vendor}:${g.device}), selected with DRI_PRIME=${env.DRI_PRIME} (Mesa's Vulkan device-select layer)${sharing(gpus.length)}`;
}
