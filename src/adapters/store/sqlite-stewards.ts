/**
 * Stewards' state and notes in the SQLite store: the state as one JSON document per steward,
 * changed by compare-and-set on its revision; notes one row per version (the newest 100 kept).
 */
import type { StewardNotes, StewardState, StewardStore } from '../../ports/steward-store.ts';
import { NOTES_VERSIONS_KEPT, storedStewardState } from './memory-stewards.ts';
import type { SqliteAccess } from './sqlite-outbox.ts';

const SQL = {
  get: 'SELECT state, revision FROM stewards WHERE name = ?',
  insert: 'INSERT INTO stewards (name, state, revision) VALUES (?, ?, 1) ON CONFLICT DO NOTHING',
  update: 'UPDATE stewards SET state = ?, revision = revision + 1 WHERE name = ? AND revision = ?',
  latest:
    'SELECT version, text, at, by, job_id FROM steward_notes WHERE name = ? ORDER BY version DESC LIMIT 1',
  history:
    'SELECT version, text, at, by, job_id FROM steward_notes WHERE name = ? ORDER BY version DESC LIMIT ?',
  insertNotes:
    'INSERT INTO steward_notes (name, version, text, at, by, job_id) VALUES (?, ?, ?, ?, ?, ?)',
  trimNotes: 'DELETE FROM steward_notes WHERE name = ? AND version <= ?',
};

type StateRow = { state: string; revision: number };
type StoredState = Omit<StewardState, 'revision'>;

export function createSqliteStewards(db: SqliteAccess): StewardStore {
  const iso = () => new Date(db.clock()).toISOString();
  const read = (name: string): StewardState | null => {
    const row = db.stmt(SQL.get).get(name) as StateRow | undefined;
    return row ? { ...(JSON.parse(row.state) as StoredState), revision: row.revision } : null;
  };
  const latest = (name: string) => {
    const row = db.stmt(SQL.latest).get(name) as StewardNotes | undefined;
    return row ? toNotes(row) : null;
  };

  return {
    getSteward: (name) => db.call(() => read(name)),

    putSteward: (next, expected) =>
      db.call(() =>
        db.tx(() => {
          const current = read(next.name);
          if ((current?.revision ?? null) !== expected) return null;
          const stored: StoredState = storedStewardState(next, current, iso());
          const changed = current
            ? db.stmt(SQL.update).run(JSON.stringify(stored), next.name, expected).changes
            : db.stmt(SQL.insert).run(next.name, JSON.stringify(stored)).changes;
          return changed === 1 ? read(next.name) : null;
        }),
      ),

    getNotes: (name) => db.call(() => latest(name)),

    notesHistory: (name, limit) =>
      db.call(() =>
        (db.stmt(SQL.history).all(name, limit) as unknown as StewardNotes[]).map(toNotes),
      ),

    saveNotes: (name, note, expected) =>
      db.call(() =>
        db.tx(() => {
          if ((latest(name)?.version ?? 0) !== expected) return null;
          const version = expected + 1;
          db.stmt(SQL.insertNotes).run(name, version, note.text, iso(), note.by, note.job_id);
          db.stmt(SQL.trimNotes).run(name, version - NOTES_VERSIONS_KEPT);
          return latest(name);
        }),
      ),
  };
}

/** node:sqlite rows have no prototype; callers get plain objects like the other stores give. */
function toNotes(row: StewardNotes): StewardNotes {
  return { version: row.version, text: row.text, at: row.at, by: row.by, job_id: row.job_id };
}
