/**
 * A bucket's entries held in memory and kept current by a KV watch, so listing and picking work
 * (the queue, the outbox) reads memory instead of fetching every entry per call. Each entry keeps
 * the revision it was read at and only a newer revision replaces it, so the store's own writes
 * (applied at once, for read-your-writes) and the watch's copy of them can arrive in any order.
 * Another store's writes show up when the watch delivers them: the view is eventually consistent,
 * which is why every change re-reads the entry and compare-and-sets it.
 *
 * Loading is one pass of one watch (an ordered consumer delivering each key's last value, then
 * every update), not a `get` per key: at 100,000 jobs that is one stream read instead of 100,000
 * round trips. Should the watch end while the view is still in use (its consumer lost), it is
 * opened again from the revision after the last one seen, so nothing between is missed.
 */
import type { KV, KvEntry } from '@nats-io/kv';

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
  /** Records that the store itself deleted `key` at `revision`. */
  remove(key: string, revision: number): void;
  /** Marks a write of `key` by this store as under way; call the returned function when it is
   *  done (applied or failed). Until then the watch holds back news of `key`, so this store's own
   *  write is never taken for another's. */
  writing(key: string): () => void;
  stop(): void;
}

export interface ViewOptions<T, V> {
  /** Which keys (a KV key filter). */
  keys: string;
  project: (value: T) => V;
  /** Called for a newer entry the watch brought after loading, i.e. a write another store made
   *  (this store's own writes are applied first, so their watched copy is not newer). */
  onRemote?: (key: string, value: V, before: V | null) => void;
  /** Called for every change of the view, own or remote, before or after loading: `before` and
   *  `after` are null for a key that was absent or is deleted. Keeps indexes over the view. */
  onChange?: (key: string, before: V | null, after: V | null) => void;
  /** Wait this long before opening a lost watch again. */
  reopenDelayMs?: number;
  /** False once the connection is closed for good: a lost watch is then not opened again. */
  open: () => boolean;
}

/** Opens the view; resolves once it holds every entry the bucket had when it was opened. */
export async function openView<T, V = T>(kv: KV, opts: ViewOptions<T, V>): Promise<KvView<T, V>> {
  const { project, onRemote, onChange } = opts;
  const entries = new Map<string, ViewEntry<V>>();
  /** Revisions of deleted keys, so a late copy of an older value cannot bring a key back. */
  const tombstones = new Map<string, number>();
  const newer = (key: string, revision: number) =>
    (entries.get(key)?.revision ?? tombstones.get(key) ?? 0) < revision;

  const apply = (key: string, value: T, revision: number): boolean => {
    if (!newer(key, revision)) return false;
    const before = entries.get(key)?.value ?? null;
    const after = structuredClone(project(value));
    entries.set(key, { value: after, revision });
    tombstones.delete(key);
    onChange?.(key, before, after);
    return true;
  };
  const remove = (key: string, revision: number): void => {
    if (!newer(key, revision)) return;
    const before = entries.get(key)?.value ?? null;
    entries.delete(key);
    tombstones.set(key, revision);
    // Only a late copy of a recent value needs its tombstone: keep the newest few thousand.
    if (tombstones.size > 10_000) tombstones.delete(tombstones.keys().next().value!);
    if (before !== null) onChange?.(key, before, null);
  };

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

  // The newest revision in the bucket now: once the watch has delivered it (or anything later),
  // the view holds everything that was there when it was opened.
  const status = await kv.status();
  const loadedAt = status.streamInfo.state.last_seq;
  let lastSeen = 0;
  let loaded = false;
  let markLoaded = () => undefined as void;
  const ready = new Promise<void>((r) => (markLoaded = r));
  const seen = (revision: number) => {
    lastSeen = Math.max(lastSeen, revision);
    if (!loaded && lastSeen >= loadedAt) {
      loaded = true;
      markLoaded();
    }
  };
  if (loadedAt === 0) seen(0);

  const take = async (e: KvEntry) => {
    const own = inflight.get(e.key);
    if (own) await own.done;
    if (e.operation === 'PUT') {
      const before = entries.get(e.key)?.value ?? null;
      if (apply(e.key, e.json<T>(), e.revision) && loaded && onRemote)
        onRemote(e.key, entries.get(e.key)!.value, before);
    } else {
      remove(e.key, e.revision);
    }
    seen(e.revision);
  };

  let stopped = false;
  let current: { stop(): void } | null = null;
  let failed: (err: unknown) => void = () => undefined;
  const failedToLoad = new Promise<never>((_, reject) => (failed = reject));
  const follow = async (): Promise<void> => {
    while (!stopped) {
      try {
        const watcher = await kv.watch({
          key: opts.keys,
          ...(lastSeen > 0 ? { resumeFromRevision: lastSeen + 1 } : {}),
        });
        current = watcher;
        if (stopped) watcher.stop();
        for await (const e of watcher) await take(e);
      } catch (err) {
        if (!loaded) {
          failed(err);
          return;
        }
      }
      // The watch ended without stop(): its connection closed, or its consumer was lost.
      if (stopped || !opts.open()) return;
      await new Promise((r) => setTimeout(r, opts.reopenDelayMs ?? 1000).unref());
    }
  };
  void follow();
  await Promise.race([ready, failedToLoad]);
  return {
    entries,
    apply: (key, value, revision) => void apply(key, value, revision),
    remove,
    writing,
    stop: () => {
      stopped = true;
      current?.stop();
    },
  };
}
