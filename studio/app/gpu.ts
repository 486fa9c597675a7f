// What the page says about the browser's WebGPU before anything trains: no WebGPU at all (how to enable it in
// each browser), an adapter whose limits the engine's kernels exceed (which limit), a software adapter (the
// 32x32 config is then not offered); and, once a run fails, whether the cause was a limit of the adapter for
// the chosen config (which limit, and the smaller configs to choose instead) or its memory.
import { limitShortfalls } from '../../engine/index.js';
import type { ConfigName } from '../../model/config.js';
import { STUDIO_CONFIGS } from './settings.js';

export interface GpuFound {
  ok: true;
  adapter: GPUAdapter;
  /** Vendor / architecture / description, as the engine logs it. */
  description: string;
  /** A software adapter (SwiftShader): correct but slow. */
  software: boolean;
}

export interface GpuMissing {
  ok: false;
  title: string;
  /** Paragraphs: what is wrong, then how to fix it. */
  help: string[];
}

type Browser = 'chrome' | 'edge' | 'firefox' | 'safari' | 'other';

function browserOf(ua: string): Browser {
  if (/Edg\//.test(ua)) return 'edge';
  if (/Firefox\//.test(ua)) return 'firefox';
  if (/(Chrome|Chromium)\//.test(ua)) return 'chrome';
  if (/Safari\//.test(ua)) return 'safari';
  return 'other';
}

/** How to enable WebGPU, the reader's browser first. */
export function enableWebGpuHelp(ua: string, platform: string): string[] {
  const linux = /Linux/.test(platform) && !/Android/.test(ua);
  const all: Record<Exclude<Browser, 'other'>, string> = {
    chrome:
      'Chrome / Chromium: WebGPU is on by default from version 113 on Windows, macOS and ChromeOS (Android: 121). ' +
      (linux ? 'On Linux enable chrome://flags/#enable-unsafe-webgpu and chrome://flags/#enable-vulkan (or start it with --enable-unsafe-webgpu --enable-features=Vulkan), then restart it. ' : '') +
      'chrome://gpu says whether WebGPU is blocked for this GPU and why.',
    edge: 'Edge: as Chrome, from version 113 (edge://flags/#enable-unsafe-webgpu where it is off; edge://gpu says why).',
    firefox: 'Firefox: on by default on Windows from version 141 (other systems follow); elsewhere set dom.webgpu.enabled to true in about:config, or use Firefox Nightly.',
    safari: 'Safari: on by default from Safari 26 (macOS, iOS and iPadOS 26); on Safari 17-18 enable it under Develop > Feature Flags > WebGPU.',
  };
  const mine = browserOf(ua);
  const order = (Object.keys(all) as (keyof typeof all)[]).sort((a, b) => Number(b === mine) - Number(a === mine));
  return order.map((b) => all[b]);
}

function describe(info: GPUAdapterInfo | undefined): string {
  if (!info) return 'unknown adapter';
  const parts = [info.vendor, info.architecture, info.device, info.description].filter((s) => s && s.length > 0);
  return parts.length ? parts.join(' / ') : 'unknown adapter';
}

/** Whether this browser gives the page a WebGPU adapter the engine can run on. */
export async function findGpu(): Promise<GpuFound | GpuMissing> {
  const ua = navigator.userAgent;
  const platform = navigator.platform || ua;
  if (!isSecureContext) {
    return { ok: false, title: 'WebGPU needs a secure page', help: [
      `This page was loaded from ${location.origin}, which is not a secure context: browsers only give WebGPU to pages served over https:// or from localhost / 127.0.0.1.`,
      'Serve it with `npm run studio` (http://127.0.0.1), or put the folder on an HTTPS host.',
    ] };
  }
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) {
    return { ok: false, title: 'This browser has no WebGPU', help: ['The page trains on your GPU through WebGPU, which this browser does not offer (navigator.gpu is missing).', ...enableWebGpuHelp(ua, platform)] };
  }
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    return { ok: false, title: 'WebGPU is not available', help: [`requestAdapter() failed: ${e instanceof Error ? e.message : String(e)}.`, ...enableWebGpuHelp(ua, platform)] };
  }
  if (!adapter) {
    return { ok: false, title: 'WebGPU is not available', help: [
      'This browser has WebGPU but gave the page no adapter: WebGPU is disabled here, or this GPU (or its driver) is blocked for it.',
      ...enableWebGpuHelp(ua, platform),
    ] };
  }
  const short = limitShortfalls(adapter.limits);
  if (short.length) {
    return { ok: false, title: "This GPU's limits are too low for the engine", help: [
      `The engine's kernels need ${short.map((s) => `${s.limit} >= ${s.required} (this adapter: ${s.device})`).join(', ')}: WebGPU's default limits, which this adapter does not reach (a compatibility-mode adapter?).`,
      'Another browser or GPU may offer them.',
    ] };
  }
  const info = adapter.info;
  return { ok: true, adapter, description: describe(info), software: (info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter === true || /swiftshader|llvmpipe|software/i.test(describe(info)) };
}

/** The limits of the adapter that matter for a config's size (for the message of a run it could not hold). */
const SIZE_LIMITS = ['maxStorageBufferBindingSize', 'maxBufferSize'] as const;

export interface ConfigTooLarge {
  /** Which limit, or 'memory' when the device ran out of memory. */
  limit: (typeof SIZE_LIMITS)[number] | 'memory';
  message: string;
  /** The smaller configs to offer instead. */
  smaller: ConfigName[];
}

/**
 * Whether a failed run hit a size limit of the adapter for its config (the engine's errors name the limit:
 * "over the device's maxStorageBufferBindingSize (N)", "larger than the device's maxBufferSize (N)") or ran out
 * of GPU memory; the message says which and offers the smaller configs.
 */
export function configTooLarge(error: unknown, config: ConfigName): ConfigTooLarge | null {
  const text = error instanceof Error ? error.message : String(error);
  const smaller = STUDIO_CONFIGS.slice(0, Math.max(0, STUDIO_CONFIGS.indexOf(config as (typeof STUDIO_CONFIGS)[number])));
  const offer = smaller.length ? ` Choose a smaller config: ${smaller.join(' or ')}.` : '';
  for (const limit of SIZE_LIMITS) {
    const m = new RegExp(`${limit} \\((\\d+)\\)`).exec(text);
    if (m) return { limit, smaller, message: `The config '${config}' needs more than this adapter's ${limit} (${Number(m[1]).toLocaleString('en-US')} bytes): ${text}.${offer}` };
  }
  if (/out of memory/i.test(text)) return { limit: 'memory', smaller, message: `The config '${config}' needs more GPU memory than this device gave the page (${text}).${offer}` };
  return null;
}
