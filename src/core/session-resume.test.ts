import { describe, expect, it } from 'vitest';
import type { Failure } from '../domain/failure.ts';
import type { Attempt, Job, JobRecord } from '../domain/job.ts';
import type { AgentInvocation } from '../ports/agent.ts';
import { planResume, sessionNote, type ResumeInput } from './session-resume.ts';

const DATA = '/data';
const PARENT = '01PARENT0000000000000000000';
const CHILD = '01CHILD00000000000000000000';
const SESSION = 'f2f3370c-4175-46e8-8f8d-c8e6ac29f5a6';

function attempt(number: number, session_id: string | null, failure: Failure | null = null) {
  return { number, session_id, failure } as Attempt;
}

function job(id: string, agent: string, parent_id: string | null = null): Job {
  return { id, agent, parent_id } as Job;
}

function parentRecord(agent: string, attempts: Attempt[]): JobRecord {
  return { ...job(PARENT, agent), attempts };
}

function input(overrides: Partial<ResumeInput>): ResumeInput {
  return {
    job: job(CHILD, 'claude', PARENT),
    attempt: 1,
    previous: null,
    parent: parentRecord('claude', [attempt(1, 'old'), attempt(2, SESSION)]),
    resumeInterrupted: true,
    dataDir: DATA,
    ...overrides,
  };
}

describe('a follow-up resumes its parent session', () => {
  it("plans the parent's last session, searched in the parent's attempts newest first", () => {
    expect(planResume(input({}))).toEqual({
      plan: {
        sessionId: SESSION,
        sessionDirs: [
          `${DATA}/jobs/${PARENT}/attempt-2/private`,
          `${DATA}/jobs/${PARENT}/attempt-1/private`,
        ],
        of: `job ${PARENT}`,
      },
      note: null,
    });
  });

  it('starts fresh, saying so, when the parent is gone', () => {
    const { plan, note } = planResume(input({ parent: null }));
    expect(plan).toBeNull();
    expect(note).toBe(
      `starting a fresh agent session: the parent job ${PARENT} is no longer in Forge's records`,
    );
  });

  it('starts fresh, saying so, when the parent ran another agent', () => {
    const parent = parentRecord('codex', [attempt(1, SESSION)]);
    const { plan, note } = planResume(input({ parent }));
    expect(plan).toBeNull();
    expect(note).toBe(
      `starting a fresh agent session: the parent job ${PARENT} ran agent "codex", this job runs "claude"`,
    );
  });

  it.each([
    ['recorded no session', [attempt(1, SESSION), attempt(2, null)]],
    ['made no attempt', []],
  ])('starts fresh, saying so, when its last attempt %s', (_what, attempts) => {
    const { plan, note } = planResume(input({ parent: parentRecord('claude', attempts) }));
    expect(plan).toBeNull();
    expect(note).toBe(
      `starting a fresh agent session: the parent job ${PARENT}'s agent recorded no session to resume`,
    );
  });

  it('resumes whatever the profile says about interrupted retries', () => {
    expect(planResume(input({ resumeInterrupted: false })).plan?.sessionId).toBe(SESSION);
  });

  it("does not resume the parent's session on a follow-up's retry", () => {
    const previous = attempt(1, 'child-session', { category: 'agent_error', message: 'exit 1' });
    expect(planResume(input({ attempt: 2, previous }))).toEqual({ plan: null, note: null });
  });

  it('says nothing for a job that is no follow-up', () => {
    expect(planResume(input({ job: job(CHILD, 'claude') }))).toEqual({ plan: null, note: null });
  });
});

describe('a retry resumes its own interrupted session (the rule kept)', () => {
  const retry = (failure: Failure | null, allowed = true) =>
    planResume(
      input({
        job: job(CHILD, 'claude'),
        attempt: 3,
        previous: attempt(2, SESSION, failure),
        resumeInterrupted: allowed,
      }),
    );

  it.each(['interrupted', 'inactivity'] as const)('after %s, searching earlier attempts', (c) => {
    expect(retry({ category: c, message: 'cut off' }).plan).toEqual({
      sessionId: SESSION,
      sessionDirs: [
        `${DATA}/jobs/${CHILD}/attempt-2/private`,
        `${DATA}/jobs/${CHILD}/attempt-1/private`,
      ],
      of: 'attempt 2',
    });
  });

  it('not after a bad result, nor when the profile forbids it', () => {
    expect(retry({ category: 'agent_error', message: 'exit 1' })).toEqual({
      plan: null,
      note: null,
    });
    expect(retry({ category: 'interrupted', message: 'cut off' }, false).plan).toBeNull();
  });
});

describe('the log line on what became of a plan', () => {
  const plan = { sessionId: SESSION, sessionDirs: [], of: `job ${PARENT}` };
  const invocation = (session?: AgentInvocation['session']) =>
    ({ ...(session ? { session } : {}) }) as AgentInvocation;

  it('says it resumed', () => {
    expect(sessionNote(plan, invocation('resumed'))).toBe(
      `resuming the agent session of job ${PARENT}`,
    );
  });

  it('says the transcript is not on this server', () => {
    expect(sessionNote(plan, invocation('missing'))).toMatch(
      new RegExp(
        `^starting a fresh agent session: the session transcript of job ${PARENT} is not on this server`,
      ),
    );
  });

  it('says the agent cannot resume', () => {
    expect(sessionNote(plan, invocation())).toBe(
      `starting a fresh agent session: this agent cannot resume the session of job ${PARENT}`,
    );
  });
});
