// The persistent tuning cache: winners of the tuner's races, so a device is measured once, not every run.
// Keyed by what decides a winner: the adapter (vendor, architecture, device, description; never a device index,
// which made two GPUs share entries in CubeCL #1594), the WebGPU implementation and its version, the precision,
// the engine's version and a hash of every kernel's source (a changed kernel re-tunes). One file per device:
//   Node:    $XDG_CACHE_HOME/agave-webgpu/ (default ~/.cache/agave-webgpu/), or the folder the application names;
//            tuning-<hash of device, implementation, precision>.json, written atomically (a temporary file in the
//            same folder, then rename) after merging what another process wrote meanwhile, so two processes
//            tuning at once lose nothing but a race's duplicate and never leave a torn file;
//   browser: IndexedDB (database 'agave-webgpu', store 'tuning'), or localStorage where IndexedDB is missing.
// A file that is not JSON, belongs to another device, or was written by another engine version or other kernel
// sources is ignored with one warning line and replaced at the next write. An unwritable folder costs one
// warning line: the run goes on with its winners in memory.
import { KERNELS, fullSource } from '../kernels.js';
import { ENGINE_VERSION } from '../version.js';

export interface TuneCacheKey {
  format: 1;
  device: string;
  backend: string;
  precision: 'f32' | 'mixed';
  engine: string;
  kernels: string;
}

export interface TuneCacheEntry {
  winner: string;
  staticChoice: string;
  /** Fastest sample's ms per call of each candidate timed. */
  ms: Record<string, number>;
  rejected?: Record<string, number>;
  at: string;
}

export interface TuneCacheRead {
  entries: Record<string, TuneCacheEntry>;
  /** One line when the stored cache was ignored (corrupt, foreign, stale) or could not be read. */
  warning?: string;
}

export interface TuneCache {
  /** Where the cache lives, for messages. */
  readonly where: string;
  read(key: TuneCacheKey): Promise<TuneCacheRead>;
  /** Merges `entries` into the stored cache; returns a warning line when it could not be written. */
  write(key: TuneCacheKey, entries: Record<string, TuneCacheEntry>): Promise<string | undefined>;
}

/** FNV-1a over a string, two seeds: 64 bits as 16 hex digits (a cache key, not a security boundary). */
export function hash64(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193) >>> 0;
    b = Math.imul(b ^ c, 0x01000193 ^ 0x2c1b3c6d) >>> 0;
  }
  return a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0');
}

let kernelsHash: string | null = null;
/** A hash of every registered kernel's full source (prelude included). */
export function kernelSourcesHash(): string {
  kernelsHash ??= hash64(Object.values(KERNELS).map((k) => `${k.name}\n${fullSource(k)}`).join('\n\u0000'));
  return kernelsHash;
}

export function tuneCacheKey(device: string, backend: string, mixed: boolean): TuneCacheKey {
  return { format: 1, device, backend, precision: mixed ? 'mixed' : 'f32', engine: ENGINE_VERSION, kernels: kernelSourcesHash() };
}

/** The cache's name for a key: one per device, implementation and precision (versions live inside). */
export function cacheName(key: TuneCacheKey): string {
  return `tuning-${hash64(`${key.device}\n${key.backend}\n${key.precision}`)}.json`;
}

interface Stored {
  key: TuneCacheKey;
  entries: Record<string, TuneCacheEntry>;
}

function isEntry(v: unknown): v is TuneCacheEntry {
  const e = v as Partial<TuneCacheEntry> | null;
  return !!e && typeof e === 'object' && typeof e.winner === 'string' && typeof e.staticChoice === 'string' && typeof e.ms === 'object' && e.ms !== null;
}

/** Parses stored text against the key: the entries, or why they are ignored. */
export function parseStored(text: string, key: TuneCacheKey, where: string): TuneCacheRead {
  let data: Partial<Stored>;
  try {
    data = JSON.parse(text) as Partial<Stored>;
  } catch {
    return { entries: {}, warning: `tuning cache ${where} is not valid JSON: ignored, it will be rewritten` };
  }
  const k = data?.key;
  if (!k || typeof k !== 'object' || typeof data.entries !== 'object' || data.entries === null) {
    return { entries: {}, warning: `tuning cache ${where} is not a tuning cache file: ignored, it will be rewritten` };
  }
  if (k.device !== key.device || k.backend !== key.backend || k.precision !== key.precision || k.format !== key.format) {
    return { entries: {}, warning: `tuning cache ${where} belongs to another device or WebGPU implementation (${String(k.device)}; ${String(k.backend)}): ignored, it will be rewritten` };
  }
  if (k.engine !== key.engine || k.kernels !== key.kernels) {
    return { entries: {}, warning: `tuning cache ${where} is stale (engine ${String(k.engine)}, kernels ${String(k.kernels)}; now ${key.engine}, ${key.kernels}): ignored, it will be rewritten` };
  }
  const entries: Record<string, TuneCacheEntry> = {};
  for (const [b, e] of Object.entries(data.entries)) if (isEntry(e)) entries[b] = e;
  return { entries };
}

function stored(key: TuneCacheKey, entries: Record<string, TuneCacheEntry>): string {
  return `${JSON.stringify({ key, entries } satisfies Stored, null, 1)}\n`;
}

interface NodeFs {
  readFileSync(path: string, enc: 'utf8'): string;
  writeFileSync(path: string, data: string): void;
  renameSync(from: string, to: string): void;
  mkdirSync(path: string, opts: { recursive: true }): unknown;
  rmSync(path: string, opts: { force: true }): void;
}

/** Node's modules, loaded only here (a variable specifier keeps them out of the browser bundle). */
async function nodeModules(): Promise<{ fs: NodeFs; join: (...p: string[]) => string; home: string; env: Record<string, string | undefined>; pid: number }> {
  const [fsName, pathName, osName] = ['node:fs', 'node:path', 'node:os'];
  const fs = (await import(/* @vite-ignore */ fsName)) as NodeFs;
  const path = (await import(/* @vite-ignore */ pathName)) as { join: (...p: string[]) => string };
  const os = (await import(/* @vite-ignore */ osName)) as { homedir(): string };
  const proc = (globalThis as unknown as { process: { env: Record<string, string | undefined>; pid: number } }).process;
  return { fs, join: path.join, home: os.homedir(), env: proc.env, pid: proc.pid };
}

/** The default folder: $XDG_CACHE_HOME/agave-webgpu, else ~/.cache/agave-webgpu. */
export async function defaultCacheDir(): Promise<string> {
  const m = await nodeModules();
  const base = m.env.XDG_CACHE_HOME && m.env.XDG_CACHE_HOME.length > 0 ? m.env.XDG_CACHE_HOME : m.join(m.home, '.cache');
  return m.join(base, 'agave-webgpu');
}

const code = (e: unknown): string => (e as { code?: string }).code ?? (e as Error).message;

/** The Node cache: one JSON file per device in `dir`. */
export function nodeTuneCache(dir: string): TuneCache {
  return {
    where: dir,
    async read(key) {
      const m = await nodeModules();
      const file = m.join(dir, cacheName(key));
      let text: string;
      try {
        text = m.fs.readFileSync(file, 'utf8');
      } catch (e) {
        // Nothing stored there (a folder that does not exist, or a path through a file: the write says so).
        if (code(e) === 'ENOENT' || code(e) === 'ENOTDIR') return { entries: {} };
        return { entries: {}, warning: `tuning cache ${file} cannot be read (${code(e)}): tuning from scratch` };
      }
      return parseStored(text, key, file);
    },
    async write(key, entries) {
      const m = await nodeModules();
      const file = m.join(dir, cacheName(key));
      const tmp = `${file}.${m.pid}.${Math.random().toString(36).slice(2)}.tmp`;
      try {
        m.fs.mkdirSync(dir, { recursive: true });
        // What another process wrote since we read: kept where we have no newer entry of our own.
        let merged = entries;
        try {
          const other = parseStored(m.fs.readFileSync(file, 'utf8'), key, file);
          merged = { ...other.entries, ...entries };
        } catch {
          // no file yet
        }
        m.fs.writeFileSync(tmp, stored(key, merged));
        m.fs.renameSync(tmp, file);
        return undefined;
      } catch (e) {
        try {
          m.fs.rmSync(tmp, { force: true });
        } catch {
          // nothing was written
        }
        return `tuning cache ${file} cannot be written (${code(e)}): this run's winners are kept in memory only`;
      }
    },
  };
}

interface IdbLike {
  open(name: string, version: number): IDBOpenDBRequest;
}

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error ?? new Error('IndexedDB request failed'));
  });
}

/** The browser cache: IndexedDB where the page has it, else localStorage. */
export function browserTuneCache(): TuneCache {
  const g = globalThis as unknown as { indexedDB?: IdbLike; localStorage?: Storage };
  const openDb = async (): Promise<IDBDatabase> => {
    const req = g.indexedDB!.open('agave-webgpu', 1);
    req.onupgradeneeded = () => {
      if (!req.result.objectStoreNames.contains('tuning')) req.result.createObjectStore('tuning');
    };
    return request(req);
  };
  const load = async (name: string): Promise<string | null> => {
    if (g.indexedDB) {
      const db = await openDb();
      try {
        return ((await request(db.transaction('tuning', 'readonly').objectStore('tuning').get(name))) as string | undefined) ?? null;
      } finally {
        db.close();
      }
    }
    return g.localStorage?.getItem(`agave-webgpu:${name}`) ?? null;
  };
  const save = async (name: string, text: string): Promise<void> => {
    if (g.indexedDB) {
      const db = await openDb();
      try {
        const tx = db.transaction('tuning', 'readwrite');
        tx.objectStore('tuning').put(text, name);
        await new Promise<void>((resolve, reject) => {
          tx.oncomplete = () => resolve();
          tx.onerror = () => reject(tx.error ?? new Error('IndexedDB write failed'));
        });
      } finally {
        db.close();
      }
      return;
    }
    if (!g.localStorage) throw new Error('neither IndexedDB nor localStorage is available');
    g.localStorage.setItem(`agave-webgpu:${name}`, text);
  };
  const where = g.indexedDB ? "IndexedDB 'agave-webgpu'" : "localStorage 'agave-webgpu:*'";
  return {
    where,
    async read(key) {
      try {
        const text = await load(cacheName(key));
        return text === null ? { entries: {} } : parseStored(text, key, `${where} ${cacheName(key)}`);
      } catch (e) {
        return { entries: {}, warning: `tuning cache ${where} cannot be read (${(e as Error).message}): tuning from scratch` };
      }
    },
    async write(key, entries) {
      try {
        const name = cacheName(key);
        const old = await load(name);
        const merged = old === null ? entries : { ...parseStored(old, key, name).entries, ...entries };
        await save(name, stored(key, merged));
        return undefined;
      } catch (e) {
        return `tuning cache ${where} cannot be written (${(e as Error).message}): this run's winners are kept in memory only`;
      }
    },
  };
}
