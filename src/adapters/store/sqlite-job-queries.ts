/**
 * The SQL the SQLite job store runs over the jobs, attempts and events tables (see
 * sqlite-schema.ts), kept apart from the code that runs it.
 */
import type { ListFilter } from '../../ports/store.ts';

export const JOB_SQL = {
  insertJob: `INSERT INTO jobs VALUES (:id, 'PENDING', :task, :agent, :profile, :max_retries,
    :budget_usd, :tags, :source, :inactivity_timeout_ms, :max_duration_ms, :at, :at, 1, 0, NULL,
    0, 0, NULL, NULL, 0, :key, :model, :max_turns, :repo, NULL, :settings, :origin, :origin_key,
    :parent_id) RETURNING *`,
  insertTag: `INSERT OR IGNORE INTO job_tags (tag, job_id) VALUES (?, ?)`,
  jobById: `SELECT * FROM jobs WHERE id = ?`,
  jobByKey: `SELECT * FROM jobs WHERE idempotency_key = ?`,
  latestFromOrigin: `SELECT * FROM jobs WHERE origin_key = ? ORDER BY id DESC LIMIT 1`,
  attemptsOf: `SELECT * FROM attempts WHERE job_id = ? ORDER BY number`,
  openAttempts: `SELECT * FROM attempts WHERE job_id = ? AND finished_at IS NULL ORDER BY number`,
  claimNext: `UPDATE jobs SET status = 'RUNNING', lease_owner = :owner, lease_expires_at = :expires,
    attempt_count = attempt_count + 1, revision = revision + 1, updated_at = :at
    WHERE id = (SELECT id FROM jobs WHERE status = 'PENDING' AND not_before <= :now ORDER BY id LIMIT 1)
    RETURNING *`,
  insertAttempt: `INSERT INTO attempts (job_id, number, sandbox, started_at, output, truncated)
    VALUES (?, ?, ?, ?, '', 0)`,
  insertEvent: `INSERT INTO events (job_id, type, at, data) VALUES (?, ?, ?, ?)`,
  // Lease renewals and attempt progress are not job changes a client sees, so they leave
  // revision and updated_at alone (a renewal every few seconds would break revision-based CAS).
  renewLease: `UPDATE jobs SET lease_expires_at = ? WHERE id = ? AND status = 'RUNNING'
    AND lease_owner = ? AND attempt_count = ?`,
  setSandboxRef: `UPDATE attempts SET sandbox_ref = ? WHERE job_id = ? AND number = ?`,
  saveProgress: `UPDATE attempts SET output = ?, truncated = ?, cost_usd = ?, turns = ?, session_id = ?
    WHERE job_id = ? AND number = ? AND finished_at IS NULL`,
  setResult: `UPDATE jobs SET result = ?, revision = revision + 1, updated_at = ? WHERE id = ?`,
  addCost: `UPDATE jobs SET cost_usd = cost_usd + ?, revision = revision + 1, updated_at = ? WHERE id = ?`,
  closeAttempt: `UPDATE attempts SET finished_at = :at, exit_code = :exit_code, output = :output,
    truncated = :truncated, failure = :failure, cost_usd = :cost_usd, turns = :turns,
    session_id = :session_id, summary = :summary, diff_stat = :diff_stat
    WHERE job_id = :job_id AND number = :number AND finished_at IS NULL`,
  interruptAttempt: `UPDATE attempts SET finished_at = ?, failure = ?
    WHERE job_id = ? AND number = ? AND finished_at IS NULL`,
  leaveRunning: `UPDATE jobs SET status = :to, failure = :failure, not_before = :not_before,
    lease_owner = NULL, lease_expires_at = NULL, revision = revision + 1, updated_at = :at
    WHERE id = :id AND status = 'RUNNING' AND revision = :revision`,
  cancel: `UPDATE jobs SET status = 'CANCELLED', failure = ?, revision = revision + 1, updated_at = ?
    WHERE id = ? AND status IN ('PENDING', 'RUNNING')`,
  retry: `UPDATE jobs SET status = 'PENDING', failure = NULL, not_before = 0,
    retry_base = attempt_count, revision = revision + 1, updated_at = ?
    WHERE id = ? AND status IN ('FAILED', 'CANCELLED')`,
  // A lease is dead when it expired, or (at startup) when another server instance held it.
  // Leases of attempts the caller still runs are filtered out in code (see recover).
  stuckRunning: `SELECT * FROM jobs WHERE status = 'RUNNING' AND (lease_expires_at IS NULL
    OR lease_expires_at < :now OR (:foreign = 1 AND lease_owner IS NOT :self)) ORDER BY id`,
  // Cancel keeps the lease so the runner can still close its attempt; once that lease is dead too,
  // nobody will, and the attempt is closed here.
  orphanAttempts: `SELECT a.*, j.status AS job_status, j.lease_owner AS lease_owner
    FROM attempts a JOIN jobs j ON j.id = a.job_id
    WHERE a.finished_at IS NULL AND j.status <> 'RUNNING' AND (j.lease_owner IS NULL
      OR j.lease_expires_at < :now OR (:foreign = 1 AND j.lease_owner IS NOT :self))
    ORDER BY a.job_id, a.number`,
  // Like a renewal, a take-over leaves revision alone; guarded by it, so a change since the read
  // (a cancel) wins.
  adoptLease: `UPDATE jobs SET lease_owner = :self, lease_expires_at = :expires
    WHERE id = :id AND status = 'RUNNING' AND revision = :revision`,
  ping: `SELECT 1`,
} as const;

/** list()'s two queries. Ids are paged on indexes alone and only the page's rows are read; with
 *  several statuses, each `status = ?` arm is already in id order on (status, id), so UNION ALL
 *  merges them instead of sorting every match. */
export function listQueries(filter: ListFilter) {
  const statuses = [...new Set(filter.statuses ?? [])];
  const tags = [...new Set(filter.tags ?? [])];
  const parent = filter.parent_id === undefined ? [] : [filter.parent_id];
  const hasTags =
    tags
      .map(() => ' AND EXISTS (SELECT 1 FROM job_tags t WHERE t.tag = ? AND t.job_id = jobs.id)')
      .join('') + (parent.length ? ' AND parent_id = ?' : '');
  const arms =
    statuses.length > 0
      ? statuses.map(() => `SELECT id FROM jobs WHERE status = ?${hasTags}`)
      : [`SELECT id FROM jobs WHERE 1${hasTags}`];
  const inStatus = statuses.length > 0 ? `status IN (${statuses.map(() => '?').join(', ')})` : '1';
  return {
    page: `SELECT * FROM jobs WHERE id IN (${arms.join(' UNION ALL ')}
      ORDER BY 1 DESC LIMIT ? OFFSET ?) ORDER BY id DESC`,
    pageParams:
      statuses.length > 0
        ? statuses.flatMap((status) => [status, ...tags, ...parent])
        : [...tags, ...parent],
    count: `SELECT count(*) AS total FROM jobs WHERE ${inStatus}${hasTags}`,
    countParams: [...statuses, ...tags, ...parent],
  };
}
