/**
 * Stewards' state and notes in the NATS store's keys bucket (`<prefix>_keys`):
 * - `steward.<name>`: the state as JSON, created with `kv.create` and changed with
 *   `kv.update(key, value, revision)`; the KV revision is the state's revision.
 * - `notes.<name>.<version>`: one key per version, created with `kv.create`, so of two writers
 *   saving the same next version exactly one succeeds. The latest is the highest version present;
 *   versions before the newest 100 are deleted by the writer that passed them.
 * Times are the store's (the NATS server's clock).
 */
import type { KV } from '@nats-io/kv';
import type { StewardNotes, StewardState, StewardStore } from '../../../ports/steward-store.ts';
import type { Clock } from '../../../ports/store.ts';
import { NOTES_VERSIONS_KEPT, storedStewardState } from '../memory-stewards.ts';
import { isConflict } from './connection.ts';

type StoredState = Omit<StewardState, 'revision'>;
type StoredNotes = Omit<StewardNotes, 'version'>;

const stateKey = (name: string) => `steward.${name}`;
const notesKey = (name: string, version: number) => `notes.${name}.${version}`;

export function createNatsStewards(
  use: <T>(fn: (keys: KV) => Promise<T>) => Promise<T>,
  clock: Clock,
): StewardStore {
  const iso = () => new Date(clock()).toISOString();

  async function read(keys: KV, name: string): Promise<StewardState | null> {
    const e = await keys.get(stateKey(name));
    return e?.operation === 'PUT' ? { ...e.json<StoredState>(), revision: e.revision } : null;
  }

  async function versions(keys: KV, name: string): Promise<number[]> {
    const found: number[] = [];
    const prefix = `notes.${name}.`;
    for await (const key of await keys.keys(`${prefix}>`)) {
      const version = Number(key.slice(prefix.length));
      if (Number.isInteger(version) && version > 0) found.push(version);
    }
    return found.sort((a, b) => b - a);
  }

  async function version(keys: KV, name: string, v: number): Promise<StewardNotes | null> {
    const e = await keys.get(notesKey(name, v));
    return e?.operation === 'PUT' ? { version: v, ...e.json<StoredNotes>() } : null;
  }

  return {
    getSteward: (name) => use((keys) => read(keys, name)),

    putSteward: (next, expected) =>
      use(async (keys) => {
        const current = await read(keys, next.name);
        if ((current?.revision ?? null) !== expected) return null;
        const stored: StoredState = storedStewardState(next, current, iso());
        try {
          const revision = current
            ? await keys.update(stateKey(next.name), JSON.stringify(stored), expected!)
            : await keys.create(stateKey(next.name), JSON.stringify(stored));
          return { ...stored, revision };
        } catch (err) {
          if (isConflict(err)) return null;
          throw err;
        }
      }),

    getNotes: (name) =>
      use(async (keys) => {
        const [latest] = await versions(keys, name);
        return latest === undefined ? null : version(keys, name, latest);
      }),

    notesHistory: (name, limit) =>
      use(async (keys) => {
        const found = (await versions(keys, name)).slice(0, limit);
        const all = await Promise.all(found.map((v) => version(keys, name, v)));
        return all.filter((n): n is StewardNotes => n !== null);
      }),

    saveNotes: (name, note, expected) =>
      use(async (keys) => {
        const present = await versions(keys, name);
        if ((present[0] ?? 0) !== expected) return null;
        const stored: StoredNotes = {
          text: note.text,
          at: iso(),
          by: note.by,
          job_id: note.job_id,
        };
        try {
          await keys.create(notesKey(name, expected + 1), JSON.stringify(stored));
        } catch (err) {
          if (isConflict(err)) return null;
          throw err;
        }
        for (const old of present.filter((v) => v <= expected + 1 - NOTES_VERSIONS_KEPT))
          await keys.purge(notesKey(name, old)).catch(() => undefined);
        return { version: expected + 1, ...stored };
      }),
  };
}
