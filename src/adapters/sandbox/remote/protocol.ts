/**
 * The worker protocol: what `forge worker` and Forge say to each other over HTTP, under
 * `/worker/v1/`, each request carrying the attempt's bearer token (attempt-token.ts).
 *
 *   GET  attempt          the spec: command, env (without secrets), inherit_env, stdin, the files
 *                         Forge prepared in the attempt's private dirs, the workspace's head, the
 *                         output offset Forge already holds, the heartbeat interval
 *   GET  workspace        the prepared workspace as a git bundle (404 without a repository)
 *   POST output?offset=N  raw output bytes starting at byte N of the agent's output; Forge keeps
 *                         what it did not have and drops the overlap; answers {acked, cancel}.
 *                         An empty body is a heartbeat.
 *   GET  control          long-poll: answers {cancel: true} at once when Forge cancels, else
 *                         {cancel: false} after `wait` ms
 *   PUT  result           the work as a git bundle (`RESULT_REF`, relative to the starting head)
 *   POST exit             {exit_code, signal, error?} once the output is all acknowledged
 *
 * Anything but the attempt's token is 401; an attempt Forge no longer runs is 410. Paths in the
 * spec are the orchestrator's: `root` is its attempt directory, which the worker maps to its own
 * directory in `command` and `env` (path-map.ts); files and `cwd` are relative to `root`.
 */
import { z } from 'zod';

export const PROTOCOL_PATH = '/worker/v1';

/** The one ref a result bundle holds: a commit of the whole working tree (untracked files
 *  included, ignored ones not) whose parent is the agent's HEAD. (A ref for the head itself would
 *  be dropped from the bundle whenever the agent made no commit: it is a prerequisite then.) */
export const RESULT_REF = 'refs/forge-result/snapshot';

/** A relative path inside the attempt's directory: no `..`, not absolute, no empty segment. */
export const relativePath = z
  .string()
  .min(1)
  .max(4096)
  .refine(
    (p) =>
      !p.startsWith('/') && p.split('/').every((seg) => seg !== '' && seg !== '..' && seg !== '.'),
    'must be a relative path inside the attempt directory',
  );

const sha = z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/);

export const attemptSpecSchema = z.object({
  job_id: z.string().min(1).max(200),
  attempt: z.number().int().positive(),
  /** The orchestrator's attempt directory, which the worker's `--dir` stands for. */
  root: z.string().min(1),
  command: z.array(z.string()).min(1),
  env: z.record(z.string(), z.string()),
  /** Names the worker takes from its own environment (model credentials from a Secret, PATH). */
  inherit_env: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/)),
  /** The agent's standard input, base64; null: empty. */
  stdin_base64: z.string().nullable(),
  cwd: relativePath,
  tmp_dir: relativePath,
  dirs: z.array(z.object({ path: relativePath, mode: z.number().int().min(0).max(0o7777) })),
  files: z.array(
    z.object({
      path: relativePath,
      mode: z.number().int().min(0).max(0o7777),
      content_base64: z.string(),
    }),
  ),
  /** The workspace as a git checkout; null: an empty directory (a job without a repository). */
  workspace: z
    .object({
      head: sha,
      /** The branch HEAD is on (null: detached). */
      branch: z.string().min(1).nullable(),
      /** `origin`'s URL as the agent should see it (never with credentials). */
      origin: z.string().nullable(),
      identity: z.object({ name: z.string(), email: z.string() }).nullable(),
    })
    .nullable(),
  /** Bytes of output Forge already holds: the worker sends from here. */
  output_acked: z.number().int().min(0),
  heartbeat_ms: z.number().int().positive(),
});
export type AttemptSpec = z.infer<typeof attemptSpecSchema>;

export const outputAnswerSchema = z.object({
  acked: z.number().int().min(0),
  cancel: z.boolean(),
});
export type OutputAnswer = z.infer<typeof outputAnswerSchema>;

export const controlAnswerSchema = z.object({ cancel: z.boolean() });

export const exitReportSchema = z.object({
  exit_code: z.number().int().nullable(),
  signal: z.string().max(32).nullable(),
  /** Set when the worker could not run the agent at all, or lost it (its process helper died). */
  error: z
    .object({
      category: z.enum(['agent_not_found', 'sandbox', 'interrupted']),
      message: z.string().max(4000),
    })
    .optional(),
});
export type ExitReport = z.infer<typeof exitReportSchema>;
