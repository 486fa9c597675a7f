// The page's auto-save: one slot in IndexedDB holding the last checkpoint of the run (the same .agave bytes the
// CLI writes and Save downloads), its records up to that step (so the curves survive a reload) and the page's
// settings, so a reloaded or crashed tab can resume where the run was. The store (browser-store.ts) writes it
// through the AutoSaveDb interface; tests give it a fake one.
import type { MetricsRecord } from '../../train/figures/curve-panels.js';
import type { StudioSettings } from './settings.js';

export interface AutoSave {
  version: 1;
  /** ISO time of the save. */
  savedAt: string;
  step: number;
  /** The checkpoint container (train/run/checkpoint-format.ts). */
  checkpoint: Uint8Array;
  /** The run's records up to `step`. */
  records: MetricsRecord[];
  settings: StudioSettings;
  /** Whether the run was training when this was written (a periodic save), not paused or finished. */
  running: boolean;
}

export interface AutoSaveDb {
  get(): Promise<AutoSave | null>;
  put(save: AutoSave): Promise<void>;
  clear(): Promise<void>;
}

const DB_NAME = 'agave-studio';
const STORE = 'autosave';
const KEY = 'run';

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error ?? new Error('IndexedDB request failed'));
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error ?? new DOMException('the IndexedDB transaction was aborted', 'AbortError'));
    tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
  });
}

/** The IndexedDB slot, or null with the reason when the browser gives no IndexedDB (some private windows). */
export async function openAutoSaveDb(): Promise<{ db: AutoSaveDb } | { db: null; reason: string }> {
  if (typeof indexedDB === 'undefined') return { db: null, reason: 'this browser gives the page no IndexedDB' };
  let idb: IDBDatabase;
  try {
    const open = indexedDB.open(DB_NAME, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(STORE);
    idb = await request(open);
  } catch (e) {
    return { db: null, reason: `IndexedDB cannot be opened (${e instanceof Error ? e.message : String(e)})` };
  }
  const tx = (mode: IDBTransactionMode): IDBObjectStore => idb.transaction(STORE, mode).objectStore(STORE);
  return {
    db: {
      async get() {
        const v = (await request(tx('readonly').get(KEY))) as AutoSave | undefined;
        return v && v.version === 1 ? v : null;
      },
      async put(save) {
        const store = tx('readwrite');
        store.put(save, KEY);
        await done(store.transaction);
      },
      async clear() {
        const store = tx('readwrite');
        store.delete(KEY);
        await done(store.transaction);
      },
    },
  };
}

/** Whether an error is the browser's storage quota (a full disk or the origin's quota). */
export function isQuotaError(e: unknown): boolean {
  const name = typeof e === 'object' && e !== null && 'name' in e ? String((e as { name: unknown }).name) : '';
  return name === 'QuotaExceededError' || /quota/i.test(e instanceof Error ? e.message : String(e));
}
