/**
 * Which earlier agent session an attempt continues, if any. Two attempts may: a retry of an
 * attempt cut off from the outside (its own session), and the first attempt of a follow-up (the
 * session of its parent's last attempt). Whether the session can really be resumed — the agent
 * knows sessions, its files are still on this server — only the agent adapter can tell; the
 * job's log then says which it was, in one line (sessionNote).
 */
import { join } from 'node:path';
import type { Attempt, Job, JobRecord } from '../domain/job.ts';
import type { AgentInvocation } from '../ports/agent.ts';
import { attemptDir } from './run-attempt.ts';

export interface ResumePlan {
  sessionId: string;
  /** Private directories of the attempts that may hold the session's files, newest first. */
  sessionDirs: string[];
  /** Whose session it is, for the job's log: "attempt 2", "job 01J…". */
  of: string;
}

/** A plan, or none with the line that says why (null: nothing worth saying). */
export type ResumeDecision = { plan: ResumePlan; note: null } | { plan: null; note: string | null };

export interface ResumeInput {
  job: Job;
  attempt: number;
  /** The attempt before this one (a retry), else null. */
  previous: Attempt | null;
  /** The parent's record when the job is a follow-up (null: not found). */
  parent: JobRecord | null;
  /** The profile lets a retry resume an interrupted attempt's session. */
  resumeInterrupted: boolean;
  dataDir: string;
}

const FRESH = 'starting a fresh agent session';

export function planResume(input: ResumeInput): ResumeDecision {
  const { job, attempt } = input;
  if (attempt > 1) return planRetry(input);
  if (job.parent_id === null) return { plan: null, note: null };
  const { parent } = input;
  if (!parent) {
    return {
      plan: null,
      note: `${FRESH}: the parent job ${job.parent_id} is no longer in Forge's records`,
    };
  }
  if (parent.agent !== job.agent) {
    return {
      plan: null,
      note: `${FRESH}: the parent job ${parent.id} ran agent "${parent.agent}", this job runs "${job.agent}"`,
    };
  }
  const last = parent.attempts.at(-1);
  if (!last?.session_id) {
    return {
      plan: null,
      note: `${FRESH}: the parent job ${parent.id}'s agent recorded no session to resume`,
    };
  }
  const numbers = parent.attempts.map((a) => a.number).reverse();
  return {
    plan: {
      sessionId: last.session_id,
      sessionDirs: numbers.map((n) => privateDir(input.dataDir, parent.id, n)),
      of: `job ${parent.id}`,
    },
    note: null,
  };
}

/** A retry resumes the agent's previous session only when that attempt was cut off from the
 *  outside (server restart, inactivity) — not when it produced a bad result, which a fresh start
 *  with the retry prompt handles better. Otherwise it starts fresh without a word: the retry
 *  prompt already says what happened. */
function planRetry(input: ResumeInput): ResumeDecision {
  const { previous, job, attempt } = input;
  if (!input.resumeInterrupted || !previous?.session_id) return { plan: null, note: null };
  const category = previous.failure?.category;
  if (category !== 'interrupted' && category !== 'inactivity') return { plan: null, note: null };
  const numbers = Array.from({ length: attempt - 1 }, (_, i) => attempt - 1 - i);
  return {
    plan: {
      sessionId: previous.session_id,
      sessionDirs: numbers.map((n) => privateDir(input.dataDir, job.id, n)),
      of: `attempt ${previous.number}`,
    },
    note: null,
  };
}

function privateDir(dataDir: string, jobId: string, attempt: number): string {
  return join(attemptDir(dataDir, jobId, attempt), 'private');
}

/** The job log's line on what became of a plan, from what the adapter reported. */
export function sessionNote(plan: ResumePlan, invocation: AgentInvocation): string {
  switch (invocation.session) {
    case 'resumed':
      return `resuming the agent session of ${plan.of}`;
    case 'missing':
      return `${FRESH}: the session transcript of ${plan.of} is not on this server (it was removed, ran on another server, or ran in a remote sandbox, which keeps none)`;
    default:
      return `${FRESH}: this agent cannot resume the session of ${plan.of}`;
  }
}
