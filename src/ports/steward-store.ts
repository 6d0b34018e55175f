/**
 * What Forge keeps about each steward between runs and restarts, on the same backend as the jobs
 * (SQLite, memory, NATS). The runs themselves are ordinary jobs (tag `steward:<name>`); this holds
 * only the steward's own state and its notes. Every change is a compare-and-set on `revision`, so
 * several replicas may try the same step and exactly one succeeds. Errors as the job store's:
 * ForgeError('unavailable') when the backend cannot be used; absence is null.
 */

/** Why a run is wanted. */
export type WakeReason = 'schedule' | 'webhook' | 'api' | 'catch_up';

export interface StewardState {
  name: string;
  /** Paused by a person: nothing starts (a wake is still remembered). */
  paused: boolean;
  /** A run is wanted and has not started yet; several wakes coalesce into this one. */
  pending: { reason: WakeReason; at: string; by: string | null } | null;
  /** The latest scheduled time already turned into a wake (ISO), or null before the first. */
  last_tick: string | null;
  /** Runs started so far; the next run's idempotency key is `steward:<name>:<runs + 1>`. */
  runs: number;
  /** The steward's current (or last) run, or null before the first. */
  current_job: string | null;
  /** When the steward was first seen by this store (the schedule counts from here). */
  created_at: string;
  updated_at: string;
  /** Bumped on every change; the compare-and-set guard. */
  revision: number;
}

/** One version of a steward's notes. */
export interface StewardNotes {
  /** 1 for the first version, then one more per change. */
  version: number;
  /** Markdown, already capped and redacted. */
  text: string;
  at: string;
  /** Who wrote it: `job:<id>` for a run's agent, `api:<token name>` or `cli` for a person. */
  by: string;
  /** The run that wrote it, or null when a person did. */
  job_id: string | null;
}

export interface StewardStore {
  /** The state, or null for a steward this store has never seen. */
  getSteward(name: string): Promise<StewardState | null>;
  /**
   * Writes `next` when the stored revision is still `expected` (null: only if there is none yet).
   * Returns the stored state with its new revision, or null when someone else changed it first.
   */
  putSteward(
    next: Omit<StewardState, 'revision' | 'updated_at' | 'created_at'> & { created_at?: string },
    expected: number | null,
  ): Promise<StewardState | null>;
  /** The latest notes, or null when there are none yet. */
  getNotes(name: string): Promise<StewardNotes | null>;
  /** Versions newest first (at most `limit`). */
  notesHistory(name: string, limit: number): Promise<StewardNotes[]>;
  /**
   * Stores a new version when the latest version is still `expected` (0: none yet). Returns it,
   * or null when another writer came first. Versions before the newest 100 may be dropped.
   */
  saveNotes(
    name: string,
    notes: Omit<StewardNotes, 'version' | 'at'>,
    expected: number,
  ): Promise<StewardNotes | null>;
}
