/**
 * Forge as an MCP server: tools over the same core actions as the HTTP API (same validation, same
 * messages), and jobs as resources. One server per request; `caller` is who the request's token
 * names (null when the server has no tokens: loopback only, and everyone may write).
 */
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { followUpJob } from '../core/follow-up.ts';
import { cancelJob, getJob, retryJob } from '../core/job-actions.ts';
import { submitJob } from '../core/submit-job.ts';
import { ForgeError } from '../domain/errors.ts';
import { JOB_STATUSES } from '../domain/job.ts';
import type { HttpDeps } from '../http/app.ts';
import { mayWrite, readOnlyMessage, type Role } from '../http/auth.ts';
import { parseListQuery } from '../http/routes/jobs.ts';
import { jobRecord, jobSummary } from '../http/serialize.ts';
import { profileFacts, repoFacts } from './config-facts.ts';
import { registerStewardTools } from './steward-tools.ts';
import { latestLogText, readLogRange } from './job-log.ts';
import { waitForJob } from './wait-for-job.ts';

export type McpDeps = Pick<HttpDeps, 'store' | 'bus' | 'config' | 'logs' | 'logger' | 'stewards'>;

/** Who called, from their token; null when the server has no tokens. */
export type McpCaller = { name: string; role: Role } | null;

const VERSION = '0.1.0';

const text = (value: unknown): CallToolResult => ({
  content: [
    { type: 'text', text: typeof value === 'string' ? value : JSON.stringify(value, null, 2) },
  ],
});

/** Runs a tool body; a ForgeError becomes a tool error carrying the API's message. */
async function answer(deps: McpDeps, run: () => Promise<unknown>): Promise<CallToolResult> {
  try {
    return text(await run());
  } catch (err) {
    if (err instanceof ForgeError) return { ...text(err.message), isError: true };
    deps.logger.error({ err }, 'mcp tool failed');
    return { ...text('internal error; see the server log for details'), isError: true };
  }
}

const jobId = z.string().min(1).max(100).describe('job id (from submit_job or list_jobs)');

const submitShape = {
  task: z.string().describe('what the agent should do, in words'),
  repo: z.string().optional().describe('a repository name from list_repos, or an https clone URL'),
  profile: z.string().optional().describe('a profile name from list_profiles'),
  agent: z.string().optional().describe('agent to run (default: the profile or server default)'),
  budget_usd: z.number().optional().describe('most USD the whole job may spend'),
  model: z.string().optional().describe('model, for agents that take one'),
  max_turns: z.number().int().optional().describe('most agent turns per attempt'),
  max_retries: z.number().int().optional().describe('retries after the first attempt'),
  max_duration: z.string().optional().describe('longest an attempt may run, e.g. 30m or 2h'),
  inactivity_timeout: z.string().optional().describe('longest silence before an attempt is cut'),
  base_branch: z.string().optional().describe('branch to start from (needs repo)'),
  branch: z.string().optional().describe('branch to push the work to (needs repo)'),
  open_pr: z.boolean().optional().describe('open a pull request (needs repo)'),
  draft: z.boolean().optional().describe('open the pull request as a draft'),
  tags: z.array(z.string()).optional().describe('labels to find the job by later'),
  idempotency_key: z.string().optional().describe('the same key returns the same job'),
};

export function createMcpServer(deps: McpDeps, caller: McpCaller): McpServer {
  const server = new McpServer({ name: 'forge', version: VERSION });
  const write = (run: () => Promise<unknown>): Promise<CallToolResult> =>
    answer(deps, async () => {
      if (caller && !mayWrite(caller.role))
        throw new ForgeError('forbidden', readOnlyMessage(caller.name, caller.role));
      return run();
    });

  server.registerTool(
    'submit_job',
    {
      description:
        'Queue a coding task for an agent; returns the job id at once (then wait_for_job).',
      inputSchema: submitShape,
    },
    ({ idempotency_key, ...fields }) =>
      write(async () => {
        const body = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
        const { job, created } = await submitJob(deps, { ...body, source: 'mcp' }, idempotency_key);
        return { id: job.id, status: created ? 'PENDING' : job.status, created_at: job.created_at };
      }),
  );

  server.registerTool(
    'list_jobs',
    {
      description: 'List jobs, newest first, optionally by status and tags.',
      inputSchema: {
        status: z.array(z.enum(JOB_STATUSES)).optional().describe('only jobs in these statuses'),
        tags: z.array(z.string()).optional().describe('only jobs carrying every one of these tags'),
        limit: z.number().int().optional().describe('how many (1-100, default 20)'),
        offset: z.number().int().optional().describe('how many to skip'),
      },
    },
    ({ status, tags, limit, offset }) =>
      answer(deps, async () => {
        const filter = parseListQuery({
          status: status?.join(','),
          tags: tags?.join(','),
          limit: limit?.toString(),
          offset: offset?.toString(),
        });
        const { jobs, total } = await deps.store.list(filter);
        return { jobs: jobs.map(jobSummary), total };
      }),
  );

  server.registerTool(
    'get_job',
    {
      description: "Get a job's status, settings, result and attempts.",
      inputSchema: { id: jobId },
    },
    ({ id }) => answer(deps, async () => jobRecord(await getJob(deps, id))),
  );

  server.registerTool(
    'get_job_output',
    {
      description: "The tail of the job's latest attempt output (what the agent printed last).",
      inputSchema: { id: jobId },
    },
    ({ id }) => answer(deps, () => latestOutput(deps, id)),
  );

  server.registerTool(
    'get_job_log',
    {
      description: "Read a byte range of an attempt's full log; page on with next_offset.",
      inputSchema: {
        id: jobId,
        attempt: z.number().int().optional().describe('attempt number (default: the latest)'),
        offset: z.number().int().optional().describe('byte offset to read from (default 0)'),
        limit: z
          .number()
          .int()
          .optional()
          .describe('most bytes to read (default 64 KiB, max 1 MiB)'),
      },
    },
    (args) => answer(deps, () => readLogRange(deps, args)),
  );

  server.registerTool(
    'cancel_job',
    { description: 'Cancel a pending or running job.', inputSchema: { id: jobId } },
    ({ id }) => write(async () => jobRecord(await cancelJob(deps, id))),
  );

  server.registerTool(
    'retry_job',
    {
      description: 'Queue a failed or cancelled job again with a fresh retry budget.',
      inputSchema: { id: jobId },
    },
    ({ id }) => write(async () => jobRecord(await retryJob(deps, id))),
  );

  server.registerTool(
    'follow_up_job',
    {
      description:
        "Queue the next piece of work on a finished job's branch (same pull request): its task and summary plus your instruction.",
      inputSchema: {
        id: jobId,
        message: z.string().describe('what to do next, in words'),
        budget_usd: z.number().optional().describe('most USD the follow-up may spend'),
        max_turns: z.number().int().optional().describe('most agent turns per attempt'),
        model: z.string().optional().describe('model, for agents that take one'),
      },
    },
    ({ id, ...fields }) =>
      write(async () => {
        const body = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
        const job = await followUpJob(deps, id, body);
        return { id: job.id, status: job.status, created_at: job.created_at, parent_id: id };
      }),
  );

  server.registerTool(
    'wait_for_job',
    {
      description:
        'Wait until a job finishes or timeout_seconds pass; returns its status. Reports output lines as progress.',
      inputSchema: {
        id: jobId,
        timeout_seconds: z
          .number()
          .min(0)
          .max(600)
          .default(60)
          .describe('longest to wait (default 60, max 600)'),
      },
    },
    ({ id, timeout_seconds }, extra) =>
      answer(deps, () => waitForJob(deps, id, timeout_seconds * 1000, extra)),
  );

  server.registerTool(
    'list_profiles',
    { description: 'List the profiles and agents a job may use, with their limits.' },
    () => answer(deps, () => Promise.resolve(profileFacts(deps.config))),
  );

  server.registerTool(
    'list_repos',
    { description: 'List the configured repositories a job may name as repo.' },
    () => answer(deps, () => Promise.resolve(repoFacts(deps.config))),
  );

  registerStewardTools(server, {
    stewards: deps.stewards,
    read: (run) => answer(deps, run),
    write,
    by: caller ? `mcp:${caller.name}` : 'mcp',
  });
  registerResources(server, deps);
  return server;
}

/** Like GET /jobs/{id}/output. */
async function latestOutput(deps: McpDeps, id: string): Promise<unknown> {
  const record = await getJob(deps, id);
  const latest = record.attempts.at(-1);
  if (!latest)
    throw new ForgeError(
      'not_found',
      `no output available: job ${record.id} has not started an attempt yet (status ${record.status})`,
    );
  return {
    attempt: latest.number,
    status: record.status,
    ...(latest.exit_code !== null ? { exit_code: latest.exit_code } : {}),
    output: latest.output,
    truncated: latest.truncated,
  };
}

function registerResources(server: McpServer, deps: McpDeps): void {
  const idOf = (value: string | string[] | undefined): string =>
    decodeURIComponent(Array.isArray(value) ? (value[0] ?? '') : (value ?? ''));
  server.registerResource(
    'job',
    new ResourceTemplate('forge://jobs/{id}', { list: undefined }),
    { description: 'A job as JSON, like GET /jobs/{id}', mimeType: 'application/json' },
    async (uri, { id }) => ({
      contents: [
        {
          uri: uri.href,
          mimeType: 'application/json',
          text: JSON.stringify(jobRecord(await getJob(deps, idOf(id))), null, 2),
        },
      ],
    }),
  );
  server.registerResource(
    'job-log',
    new ResourceTemplate('forge://jobs/{id}/log', { list: undefined }),
    { description: "The end of a job's latest attempt log", mimeType: 'text/plain' },
    async (uri, { id }) => ({
      contents: [
        { uri: uri.href, mimeType: 'text/plain', text: await latestLogText(deps, idOf(id)) },
      ],
    }),
  );
}
