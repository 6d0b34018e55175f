/**
 * Stewards' state and notes in memory, for the memory store (same contract as SQLite and NATS:
 * test/contracts/steward-store.contract.ts). Each call runs to completion synchronously, so each
 * compare-and-set is atomic.
 */
import type { StewardNotes, StewardState, StewardStore } from '../../ports/steward-store.ts';
import type { Clock } from '../../ports/store.ts';

/** Versions kept per steward (older ones are dropped). */
export const NOTES_VERSIONS_KEPT = 100;

/** What every store writes for `next`: only the port's fields (a caller's extra fields are not
 *  stored), the first creation time kept, the update stamped `now`. */
export function storedStewardState(
  next: Parameters<StewardStore['putSteward']>[0],
  current: StewardState | null,
  now: string,
): Omit<StewardState, 'revision'> {
  return {
    name: next.name,
    paused: next.paused,
    pending: next.pending ? { ...next.pending } : null,
    last_tick: next.last_tick,
    runs: next.runs,
    current_job: next.current_job,
    created_at: current?.created_at ?? next.created_at ?? now,
    updated_at: now,
  };
}

export function createMemoryStewards(
  clock: Clock,
  use: <T>(fn: () => T) => Promise<T>,
): StewardStore {
  const states = new Map<string, StewardState>();
  const notes = new Map<string, StewardNotes[]>();
  const iso = () => new Date(clock()).toISOString();

  return {
    getSteward: (name) => use(() => structuredClone(states.get(name) ?? null)),

    putSteward: (next, expected) =>
      use(() => {
        const current = states.get(next.name) ?? null;
        if ((current?.revision ?? null) !== expected) return null;
        const stored: StewardState = {
          ...storedStewardState(next, current, iso()),
          revision: (current?.revision ?? 0) + 1,
        };
        states.set(next.name, stored);
        return structuredClone(stored);
      }),

    getNotes: (name) => use(() => structuredClone(notes.get(name)?.at(-1) ?? null)),

    notesHistory: (name, limit) =>
      use(() => {
        const versions = notes.get(name) ?? [];
        // slice(-0) would be every version; a limit of 0 asks for none.
        return structuredClone(versions.slice(Math.max(0, versions.length - limit)).reverse());
      }),

    saveNotes: (name, note, expected) =>
      use(() => {
        const versions = notes.get(name) ?? [];
        if ((versions.at(-1)?.version ?? 0) !== expected) return null;
        const saved: StewardNotes = {
          version: expected + 1,
          text: note.text,
          at: iso(),
          by: note.by,
          job_id: note.job_id,
        };
        versions.push(saved);
        if (versions.length > NOTES_VERSIONS_KEPT)
          versions.splice(0, versions.length - NOTES_VERSIONS_KEPT);
        notes.set(name, versions);
        return structuredClone(saved);
      }),
  };
}
