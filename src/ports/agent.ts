import type { Failure } from '../domain/failure.ts';
import type { Job } from '../domain/job.ts';
import type { DoctorCheck } from './doctor-check.ts';

import type { McpServer } from '../domain/job.ts';
export type { McpServer };

/** What a job's profile says about how the agent should work, resolved by the core. */
export interface AgentSettings {
  /** Model name, or null for the agent's default. */
  model: string | null;
  maxTurns: number | null;
  /** Added to the agent's system prompt. */
  systemPrompt: string | null;
  allowedTools: string[];
  disallowedTools: string[];
  mcpServers: Record<string, McpServer>;
  /** Path of a recipe file (goose). */
  recipe: string | null;
}

export interface AgentContext {
  job: Job;
  /** 1-based. */
  attempt: number;
  prompt: string;
  /** A file holding `prompt`. */
  promptFile: string;
  workspace: string;
  /** Attempt-private directory (outside the workspace) for the agent's home, config and tmp. */
  privateDir: string;
  /** Remaining budget for this job in USD, or null when unlimited. */
  remainingBudgetUsd: number | null;
  settings: AgentSettings;
  /** Session to resume — the previous attempt's (it was interrupted, not a bad result, and the
   *  profile allows it) or, for a follow-up's first attempt, the parent's last attempt's — or null
   *  to start fresh. Untrusted (it came from an agent's output). Agents without sessions ignore
   *  it. */
  resumeSessionId: string | null;
  /** Private directories (each the `privateDir` an earlier attempt was given), newest first,
   *  where the files of `resumeSessionId` may be found. Absent: none. */
  sessionDirs?: string[];
}

/** Structured facts an agent reports while it runs or at the end. `cost_usd` and `turns` are
 *  totals for the attempt so far (not increments). */
export interface AgentReport {
  cost_usd?: number;
  turns?: number;
  session_id?: string;
  summary?: string;
  /** Set when the agent's own output says it failed (e.g. budget exceeded, auth). */
  failure?: Failure;
}

/** Reads an agent's output stream line by line. */
export interface OutputParser {
  /** Turns one raw line into zero or more lines for people (log, live stream) and any facts. */
  line(raw: string): { display: string[]; report?: AgentReport };
  /** Called once after the output ended: facts only visible at the end (e.g. a final block). */
  finish?(): AgentReport | undefined;
}

/** The parser of an agent whose output is meant for people as it is: each line shown as is.
 *  Output through it is handled a chunk at a time (see AttemptOutput). */
export const PLAIN_OUTPUT: OutputParser = { line: (raw) => ({ display: [raw] }) };

export interface AgentInvocation {
  /** argv; argv[0] is checked to exist before starting (→ `agent_not_found`). The prompt goes in
   *  by file or `stdinFile`, not here: one argument holds at most 128 KiB on Linux (a longer one
   *  fails the start with E2BIG), and arguments show in `ps`. Only a `command` agent's `{prompt}`
   *  puts it here, and prepare() refuses one over that limit. */
  command: string[];
  /** A file the sandbox feeds to the agent's standard input (absent: empty input). Every adapter
   *  gives `ctx.promptFile`, so the prompt reaches the agent whole, whatever its size. */
  stdinFile?: string;
  /** Environment added to the sandbox's base allowlist (credentials the agent's config names). */
  env: Record<string, string>;
  parser: OutputParser;
  /** Install hint shown when argv[0] is missing. */
  installHint: string;
  /** What became of `resumeSessionId`: resumed, or its files were not found (the agent starts
   *  fresh). Absent: the agent does not resume sessions (or none was asked for). */
  session?: 'resumed' | 'missing';
}

/** Knows how to start one kind of agent and read its output. */
export interface AgentAdapter {
  readonly kind: string;
  /** Builds the command line for one attempt; may write config files into `ctx.privateDir`.
   *  Throws ForgeError('config') for a configuration that cannot work. */
  prepare(ctx: AgentContext): Promise<AgentInvocation>;
  /** For `forge doctor`: is the program there, which version, are credentials present (by name,
   *  never by value). Never throws. */
  doctor(): Promise<DoctorCheck[]>;
}
