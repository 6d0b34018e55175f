import type { Failure } from '../domain/failure.ts';
import type { Job } from '../domain/job.ts';

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
}

/** Structured facts an agent reports while it runs or at the end. */
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
}

export interface AgentInvocation {
  /** argv; argv[0] is checked to exist before starting (→ `agent_not_found`). */
  command: string[];
  /** Environment added to the sandbox's base allowlist. */
  env: Record<string, string>;
  parser: OutputParser;
  /** Install hint shown when argv[0] is missing. */
  installHint: string;
}

/** Knows how to start one kind of agent and read its output. */
export interface AgentAdapter {
  readonly kind: string;
  /** Builds the command line for one attempt; may write config files into `ctx.privateDir`.
   *  Throws ForgeError('config') for a configuration that cannot work. */
  prepare(ctx: AgentContext): Promise<AgentInvocation>;
}
