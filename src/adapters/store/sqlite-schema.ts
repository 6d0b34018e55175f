/**
 * The SQLite file Forge keeps its jobs in: opening it (pragmas, schema), mapping its rows to domain
 * objects, and translating SQLite errors that mean "this database cannot be used" into
 * ForgeError('unavailable') with what to check.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { ForgeError } from '../../domain/errors.ts';
import type { Failure } from '../../domain/failure.ts';
import type {
  Attempt,
  Job,
  JobOrigin,
  JobRepo,
  JobResult,
  JobSettings,
  JobStatus,
} from '../../domain/job.ts';

const SCHEMA_VERSION = 5;
const BUSY_TIMEOUT_MS = 5000;

// STRICT tables make SQLite reject a wrongly typed value instead of storing it silently.
const SCHEMA = `
CREATE TABLE jobs (
  id TEXT PRIMARY KEY,
  status TEXT NOT NULL CHECK (status IN ('PENDING','RUNNING','SUCCEEDED','FAILED','CANCELLED')),
  task TEXT NOT NULL, agent TEXT NOT NULL, profile TEXT, max_retries INTEGER NOT NULL,
  budget_usd REAL, tags TEXT NOT NULL, source TEXT NOT NULL,
  inactivity_timeout_ms INTEGER NOT NULL, max_duration_ms INTEGER NOT NULL,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL, revision INTEGER NOT NULL,
  cost_usd REAL NOT NULL, failure TEXT, retry_base INTEGER NOT NULL, attempt_count INTEGER NOT NULL,
  lease_owner TEXT, lease_expires_at INTEGER, not_before INTEGER NOT NULL,
  idempotency_key TEXT UNIQUE,
  model TEXT, max_turns INTEGER,
  repo TEXT, result TEXT, settings TEXT
) STRICT;
-- Serves list() by status newest-first and claim() oldest-first without sorting.
CREATE INDEX jobs_status_id ON jobs (status, id);
-- The searchable copy of jobs.tags; jobs.tags keeps the submitted order.
CREATE TABLE job_tags (
  tag TEXT NOT NULL, job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  PRIMARY KEY (tag, job_id)
) STRICT, WITHOUT ROWID;
CREATE TABLE attempts (
  job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE, number INTEGER NOT NULL,
  sandbox TEXT NOT NULL, sandbox_ref TEXT, started_at TEXT NOT NULL, finished_at TEXT,
  exit_code INTEGER, output TEXT NOT NULL, truncated INTEGER NOT NULL, failure TEXT,
  cost_usd REAL, turns INTEGER, session_id TEXT, summary TEXT, diff_stat TEXT,
  PRIMARY KEY (job_id, number)
) STRICT;
CREATE INDEX attempts_open ON attempts (job_id) WHERE finished_at IS NULL;
CREATE TABLE events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  type TEXT NOT NULL, at TEXT NOT NULL, data TEXT NOT NULL
) STRICT;
CREATE INDEX events_job ON events (job_id, seq);
`;

export interface JobRow {
  id: string;
  status: JobStatus;
  task: string;
  agent: string;
  profile: string | null;
  max_retries: number;
  budget_usd: number | null;
  tags: string;
  source: string;
  inactivity_timeout_ms: number;
  max_duration_ms: number;
  model: string | null;
  max_turns: number | null;
  repo: string | null;
  result: string | null;
  settings: string | null;
  created_at: string;
  updated_at: string;
  revision: number;
  cost_usd: number;
  failure: string | null;
  retry_base: number;
  attempt_count: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
  origin: string | null;
  origin_key: string | null;
  parent_id: string | null;
}

export type AttemptRow = Omit<Attempt, 'truncated' | 'failure'> & {
  job_id: string;
  sandbox_ref: string | null;
  truncated: number;
  failure: string | null;
};

export type OrphanRow = AttemptRow & { job_status: JobStatus; lease_owner: string | null };

/** Jobs stored before settings were frozen at submit (schema 1) run with plain settings. */
const LEGACY_SETTINGS: JobSettings = {
  system_prompt: null,
  allowed_tools: [],
  disallowed_tools: [],
  mcp_servers: {},
  recipe: null,
  env: {},
  allowed_domains: [],
  resume_interrupted: true,
  continue_previous_work: false,
};

export function toJob(row: JobRow): Job {
  return {
    id: row.id,
    status: row.status,
    task: row.task,
    agent: row.agent,
    profile: row.profile,
    max_retries: row.max_retries,
    budget_usd: row.budget_usd,
    tags: JSON.parse(row.tags) as string[],
    source: row.source,
    inactivity_timeout_ms: row.inactivity_timeout_ms,
    max_duration_ms: row.max_duration_ms,
    model: row.model,
    max_turns: row.max_turns,
    repo: row.repo === null ? null : (JSON.parse(row.repo) as JobRepo),
    result: row.result === null ? null : (JSON.parse(row.result) as JobResult),
    settings: row.settings === null ? LEGACY_SETTINGS : (JSON.parse(row.settings) as JobSettings),
    created_at: row.created_at,
    updated_at: row.updated_at,
    revision: row.revision,
    cost_usd: row.cost_usd,
    failure: row.failure === null ? null : (JSON.parse(row.failure) as Failure),
    retry_base: row.retry_base,
    attempt_count: row.attempt_count,
    origin: row.origin === null ? null : (JSON.parse(row.origin) as JobOrigin),
    parent_id: row.parent_id,
  };
}

export function toAttempt(row: AttemptRow): Attempt {
  return {
    number: row.number,
    sandbox: row.sandbox,
    started_at: row.started_at,
    finished_at: row.finished_at,
    exit_code: row.exit_code,
    output: row.output,
    truncated: row.truncated === 1,
    failure: row.failure === null ? null : (JSON.parse(row.failure) as Failure),
    cost_usd: row.cost_usd,
    turns: row.turns,
    session_id: row.session_id,
    summary: row.summary,
    diff_stat: row.diff_stat,
  };
}

/** SCHEMA is version 2; each entry upgrades a database from the version before it to its
 *  index + 2. */
const MIGRATIONS = [
  `ALTER TABLE attempts ADD COLUMN diff_stat TEXT; ALTER TABLE jobs ADD COLUMN settings TEXT;`,
  // v3: where a job came from (an issue, a chat) and what it continues; the outbox.
  `ALTER TABLE jobs ADD COLUMN origin TEXT; ALTER TABLE jobs ADD COLUMN origin_key TEXT;
  ALTER TABLE jobs ADD COLUMN parent_id TEXT;
  CREATE INDEX jobs_origin ON jobs (origin_key, id) WHERE origin_key IS NOT NULL;
  CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sink TEXT NOT NULL, event TEXT NOT NULL, job_id TEXT, key TEXT, payload TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending','delivered','dead')),
    attempts INTEGER NOT NULL, next_at INTEGER NOT NULL, last_error TEXT,
    created_at TEXT NOT NULL, delivered_at TEXT, lease_owner TEXT, lease_expires_at INTEGER,
    UNIQUE (sink, key)
  ) STRICT;
  -- take() reads only pending rows, however many were delivered.
  CREATE INDEX outbox_pending ON outbox (next_at, id) WHERE state = 'pending';
  CREATE INDEX outbox_job ON outbox (job_id, sink, id) WHERE job_id IS NOT NULL;`,
  // v4: a job's follow-ups, listed with the job.
  `CREATE INDEX IF NOT EXISTS jobs_parent ON jobs (parent_id, id) WHERE parent_id IS NOT NULL;`,
  // v5: stewards' state (one JSON document per steward, compare-and-set on revision) and notes.
  `CREATE TABLE stewards (
    name TEXT PRIMARY KEY, state TEXT NOT NULL, revision INTEGER NOT NULL
  ) STRICT;
  CREATE TABLE steward_notes (
    name TEXT NOT NULL, version INTEGER NOT NULL, text TEXT NOT NULL, at TEXT NOT NULL,
    by TEXT NOT NULL, job_id TEXT, PRIMARY KEY (name, version)
  ) STRICT;`,
];

// Primary result codes (errcode & 0xff) that mean the database itself cannot be used, with what
// the operator should check. Anything else (constraint, SQL error) is a bug and is rethrown as is.
const UNUSABLE: Record<number, string> = {
  5: 'is locked by another process for too long: check that no other program holds a write transaction on it',
  6: 'is locked: check that no other program holds a write transaction on it',
  7: 'could not be used because SQLite ran out of memory: check the memory limits of the server',
  8: 'is read-only: check the permissions of the file and its directory',
  10: 'could not be read or written (I/O error): check the disk and file system',
  11: 'is corrupt: restore it from a backup or point the store at a new file',
  13: 'cannot grow because the disk is full: free some space',
  14: 'cannot be opened: check that its directory exists and is writable',
  26: 'is not a SQLite database: point the store at a Forge database file',
};

export function toStoreError(err: unknown, path: string): Error {
  if (err instanceof ForgeError) return err;
  const e = err as { code?: unknown; errcode?: unknown; errstr?: unknown };
  if (e.code === 'ERR_INVALID_STATE') {
    return new ForgeError('unavailable', `the job store at ${path} is closed; restart the server`, {
      cause: err,
    });
  }
  if (e.code === 'ERR_SQLITE_ERROR' && typeof e.errcode === 'number') {
    const hint = UNUSABLE[e.errcode & 0xff];
    if (hint !== undefined) {
      const detail = typeof e.errstr === 'string' ? ` (${e.errstr})` : '';
      return new ForgeError('unavailable', `SQLite database ${path} ${hint}${detail}`, {
        cause: err,
      });
    }
  }
  return err instanceof Error ? err : new Error(String(err));
}

/** Opens (creating when new) the database; WAL lets readers proceed while one writer commits. */
export function openDatabase(path: string): DatabaseSync {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path);
  try {
    db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}; PRAGMA journal_mode = WAL;
      PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;`);
    db.exec('BEGIN IMMEDIATE');
    const { user_version: version } = db.prepare('PRAGMA user_version').get() as {
      user_version: number;
    };
    if (version > SCHEMA_VERSION) {
      throw new ForgeError(
        'unavailable',
        `SQLite database ${path} has schema version ${version}, newer than this Forge understands (${SCHEMA_VERSION}): upgrade Forge`,
      );
    }
    if (version === 0) db.exec(`${SCHEMA} PRAGMA user_version = 2;`);
    for (let v = version === 0 ? 2 : version; v < SCHEMA_VERSION; v++) {
      db.exec(`${MIGRATIONS[v - 1]!} PRAGMA user_version = ${v + 1};`);
    }
    db.exec('COMMIT');
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}
