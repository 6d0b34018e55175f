/** Human output for the CLI. */
interface JobJson {
  id: string;
  profile?: string | null;
  budget_usd?: number | null;
  status: string;
  agent: string;
  task: string;
  created_at: string;
  attempt_count?: number;
  cost_usd?: number;
  failure?: { category: string; message: string };
}

function oneLine(text: string, width: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat;
}

export function jobTable(jobs: JobJson[], total: number): string {
  if (jobs.length === 0) return 'no jobs';
  const rows = [['ID', 'STATUS', 'AGENT', 'TRIES', 'CREATED', 'TASK']];
  for (const job of jobs) {
    rows.push([
      job.id,
      job.status,
      job.agent,
      String(job.attempt_count ?? 0),
      job.created_at.replace('T', ' ').slice(0, 19),
      oneLine(job.task, 50),
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) =>
    r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '),
  );
  if (total > jobs.length)
    lines.push(`(${jobs.length} of ${total}; use --limit/--offset for more)`);
  return lines.join('\n');
}

interface AttemptJson {
  number: number;
  sandbox: string;
  started_at: string;
  finished_at?: string;
  exit_code?: number;
  truncated: boolean;
  output: string;
  failure?: { category: string; message: string };
  cost_usd?: number;
  turns?: number;
  summary?: string;
  session_id?: string;
}

export function jobDetails(
  job: JobJson & Record<string, unknown> & { attempts: AttemptJson[] },
): string {
  const lines = [
    `job      ${job.id}`,
    `status   ${job.status}${job.failure ? ` — ${job.failure.category}: ${job.failure.message}` : ''}`,
    `agent    ${job.agent}${job.profile ? ` (profile ${job.profile})` : ''}`,
    `created  ${job.created_at}`,
    `updated  ${String(job.updated_at)}`,
    `retries  ${String(job.max_retries)}   budget ${job.budget_usd == null ? 'none' : `$${job.budget_usd}`}   cost $${(job.cost_usd ?? 0).toFixed(4)}`,
    `limits   inactivity ${String(job.inactivity_timeout)}   max duration ${String(job.max_duration)}`,
  ];
  const repo = job.repo as { url: string; base_branch: string | null } | null | undefined;
  if (repo)
    lines.push(`repo     ${repo.url}${repo.base_branch ? ` (base ${repo.base_branch})` : ''}`);
  const result = job.result as
    | {
        branch: string;
        wip?: boolean;
        no_changes?: boolean;
        changed_files: number;
        insertions: number;
        deletions: number;
        pr_url?: string;
        pr_number?: number;
      }
    | null
    | undefined;
  if (result) {
    const change = result.no_changes
      ? 'no changes'
      : `${result.changed_files} files, +${result.insertions} −${result.deletions}`;
    lines.push(
      `result   branch ${result.branch}${result.wip ? ' (work in progress)' : ''} — ${change}`,
    );
    if (result.pr_url) lines.push(`pr       #${result.pr_number ?? '?'} ${result.pr_url}`);
  }
  // The chain of follow-ups this job sits in.
  if (typeof job.parent_id === 'string') lines.push(`follows  ${job.parent_id}`);
  const followUps = job.follow_ups as string[] | undefined;
  if (followUps?.length) lines.push(`followed ${followUps.join(', ')}`);
  if (typeof job.turns === 'number' && job.turns > 0) lines.push(`turns    ${job.turns}`);
  const tags = job.tags as string[] | undefined;
  if (tags?.length) lines.push(`tags     ${tags.join(', ')}`);
  lines.push('task', ...job.task.split('\n').map((l) => `  ${l}`));
  for (const a of job.attempts) {
    const end = a.finished_at ? `→ ${a.finished_at}` : '(running)';
    const exit = a.exit_code !== undefined ? ` exit ${a.exit_code}` : '';
    const facts = [
      a.cost_usd !== undefined ? `$${a.cost_usd.toFixed(4)}` : '',
      a.turns !== undefined ? `${a.turns} turns` : '',
    ]
      .filter(Boolean)
      .join(', ');
    lines.push(
      `attempt ${a.number} [${a.sandbox}] ${a.started_at} ${end}${exit}${facts ? ` (${facts})` : ''}`,
    );
    if (a.failure) lines.push(`  failure: ${a.failure.category}: ${a.failure.message}`);
    if (a.summary) lines.push(`  summary: ${a.summary}`);
    if (a.session_id) lines.push(`  session: ${a.session_id}`);
  }
  return lines.join('\n');
}
