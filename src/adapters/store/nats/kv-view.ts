/**
 * A bucket's entries held in memory and kept current by a KV watch, so listing and picking work
 * (the queue, the outbox) reads memory instead of fetching every entry per call. Each entry keeps
 * the revision it was read at and only a newer revision replaces it, so the store's own writes
 * (applied at once, for read-your-writes) and the watch's copy of them can arrive in any order.
 * Another store's writes show up when the watch delivers them: the view is eventually consistent,
 * which is why every change re-reads the entry and compare-and-sets it.
 */
import type { KV } from '@nats-io/kv';

export interface ViewEntry<T> {
  value: T;
  revision: number;
}

/** Values of type `T` held as `V`: only what picking and listing need (a job's view leaves out
 *  its attempts' output, the bulk of an entry). */
export interface KvView<T, V = T> {
  readonly entries: ReadonlyMap<string, ViewEntry<V>>;
  /** Records a value the store itself just wrote (or read) at `revision`. */
  apply(key: string, value: T, revision: number): void;
  /** Marks a write of `key` by this store as under way; call the returned function when it is
   *  done (applied or failed). Until then the watch holds back news of `key`, so this store's own
   *  write is never taken for another's. */
  writing(key: string): () => void;
  stop(): void;
}

/** Starts watching `keyFilter` (updates only), then loads what is there already. */
export async function openView<T, V = T>(
  kv: KV,
  keyFilter: string,
  project: (value: T) => V,
  /** Called for a newer entry the watch brought, i.e. a write another store made (this store's
   *  own writes are applied first, so their watched copy is not newer). */
  onRemote?: (key: string, value: V) => void,
): Promise<KvView<T, V>> {
  const entries = new Map<string, ViewEntry<V>>();
  const apply = (key: string, value: T, revision: number): boolean => {
    const known = entries.get(key);
    if (known && known.revision >= revision) return false;
    entries.set(key, { value: structuredClone(project(value)), revision });
    return true;
  };
  let loaded = false;
  const inflight = new Map<string, { count: number; done: Promise<void>; release: () => void }>();
  const writing = (key: string) => {
    let w = inflight.get(key);
    if (!w) {
      let release = () => undefined as void;
      const done = new Promise<void>((r) => (release = r));
      w = { count: 0, done, release };
      inflight.set(key, w);
    }
    w.count++;
    const mine = w;
    return () => {
      if (--mine.count === 0) {
        inflight.delete(key);
        mine.release();
      }
    };
  };
  const watcher = await kv.watch({ key: keyFilter, include: 'updates', ignoreDeletes: true });
  void (async () => {
    for await (const e of watcher) {
      if (e.operation !== 'PUT') continue;
      const own = inflight.get(e.key);
      if (own) await own.done;
      if (apply(e.key, e.json<T>(), e.revision) && loaded && onRemote)
        onRemote(e.key, entries.get(e.key)!.value);
    }
  })().catch(() => undefined); // the connection closed; the view stays as it was
  const keys: string[] = [];
  for await (const key of await kv.keys(keyFilter)) keys.push(key);
  for (const key of keys) {
    const e = await kv.get(key);
    if (e?.operation === 'PUT') apply(key, e.json<T>(), e.revision);
  }
  loaded = true;
  return {
    entries,
    apply: (key, value, revision) => void apply(key, value, revision),
    writing,
    stop: () => watcher.stop(),
  };
}
