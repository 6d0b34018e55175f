// The webhook notifier against a real loopback receiver that checks signatures the way the module
// documents them (with its own code).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ForgeError } from '../domain/errors.ts';
import type { Attempt, JobRecord } from '../domain/job.ts';
import type { Delivery } from '../ports/outbox.ts';
import { spec } from '../../test/contracts/store-fixtures.ts';
import {
  startWebhookReceiver,
  verifyForgeSignature,
  type WebhookReceiver,
} from '../../test/support/webhook-receiver.ts';
import { createWebhookNotifier, type WebhookBody } from './webhook-notifier.ts';

const SECRET = 'whsec-do-not-leak-7f3a';
const JOB_ID = '01JAAAAAAAAAAAAAAAAAAAAAAA';
const NOW = Date.UTC(2026, 0, 2, 3, 4, 5, 678);

function attempt(number: number, turns: number | null): Attempt {
  return {
    number,
    sandbox: 'local',
    started_at: '2026-01-02T03:00:00.000Z',
    finished_at: '2026-01-02T03:04:00.000Z',
    exit_code: 0,
    output: '',
    truncated: false,
    failure: null,
    cost_usd: 0.1,
    turns,
    session_id: null,
    summary: null,
    diff_stat: null,
  };
}

const JOB: JobRecord = {
  ...spec(),
  id: JOB_ID,
  status: 'SUCCEEDED',
  created_at: '2026-01-02T02:59:00.000Z',
  updated_at: '2026-01-02T03:04:01.000Z',
  revision: 5,
  cost_usd: 0.2,
  failure: null,
  retry_base: 0,
  attempt_count: 2,
  result: {
    branch: 'forge/01jaaaaaaaaaaaaaaaaaaaaaaa',
    commit: 'abc123',
    pr_url: 'https://git.example.com/me/app/pulls/7',
    pr_number: 7,
    changed_files: 2,
    insertions: 10,
    deletions: 1,
  },
  attempts: [attempt(1, 3), attempt(2, null), attempt(3, 4)],
};

function delivery(overrides: Partial<Delivery> = {}): Delivery {
  return {
    id: 42,
    sink: 'webhook:ops',
    event: 'finished',
    job_id: JOB_ID,
    key: null,
    payload: { status: 'SUCCEEDED' },
    state: 'pending',
    attempts: 1,
    next_at: NOW,
    last_error: null,
    created_at: new Date(NOW).toISOString(),
    delivered_at: null,
    ...overrides,
  };
}

let receiver: WebhookReceiver;
beforeEach(async () => {
  receiver = await startWebhookReceiver(SECRET);
});
afterEach(() => receiver.close());

function notifier(overrides: { url?: string; secret?: string } = {}) {
  return createWebhookNotifier({
    name: 'ops',
    url: overrides.url ?? `${receiver.url}/hooks/path-token-9d2e`,
    secret: overrides.secret ?? SECRET,
    getJob: (id) => Promise.resolve(id === JOB_ID ? JOB : null),
    clock: () => NOW,
  });
}

async function failureOf(promise: Promise<void>): Promise<ForgeError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ForgeError);
  return err as ForgeError;
}

const signal = () => new AbortController().signal;

describe('webhook notifier', () => {
  it('posts the job, signed so the receiver can check it', async () => {
    await notifier()(delivery(), signal());
    expect(receiver.requests).toHaveLength(1);
    const req = receiver.requests[0]!;
    expect(req.valid).toBe(true);
    expect(req.headers).toMatchObject({
      'content-type': 'application/json',
      'x-forge-event': 'finished',
      'x-forge-delivery': '42',
      'x-forge-timestamp': String(Math.floor(NOW / 1000)),
    });
    const body = JSON.parse(req.body) as WebhookBody;
    expect(body).toEqual({
      event: 'finished',
      delivery_id: '42',
      sent_at: '2026-01-02T03:04:05.678Z',
      job: {
        id: JOB_ID,
        status: 'SUCCEEDED',
        task: JOB.task,
        source: 'api',
        repo_url: 'https://git.example.com/me/app.git',
        branch: 'forge/01jaaaaaaaaaaaaaaaaaaaaaaa',
        pr_url: 'https://git.example.com/me/app/pulls/7',
        cost_usd: 0.2,
        turns: 7,
        attempts: 3,
        failure: null,
        created_at: JOB.created_at,
        updated_at: JOB.updated_at,
      },
    });
  });

  it('signs the timestamp with the body, so a request cannot be replayed with a new timestamp', async () => {
    await notifier()(delivery(), signal());
    const req = receiver.requests[0]!;
    const raw = Buffer.from(req.body);
    const signature = req.headers['x-forge-signature'] as string;
    const later = String(Math.floor(NOW / 1000) + 3600);
    expect(verifyForgeSignature(SECRET, later, raw, signature)).toBe(false);
    expect(
      verifyForgeSignature(SECRET, req.headers['x-forge-timestamp'] as string, raw, signature),
    ).toBe(true);
  });

  it('a receiver with another secret refuses it, and the delivery will be retried', async () => {
    const err = await failureOf(notifier({ secret: 'another-secret' })(delivery(), signal()));
    expect(receiver.requests[0]?.valid).toBe(false);
    expect(err.code).toBe('unavailable');
  });

  it.each([408, 429, 500, 502, 503, 400, 401, 404, 302])(
    'answer %i is retried (unavailable)',
    async (status) => {
      receiver.failNext(1, status);
      const err = await failureOf(notifier()(delivery(), signal()));
      expect(err.code).toBe('unavailable');
      expect(err.message).toContain(`webhook ops answered ${status}`);
    },
  );

  it('410 Gone gives the delivery up', async () => {
    receiver.failNext(1, 410);
    const err = await failureOf(notifier()(delivery(), signal()));
    expect(err.code).not.toBe('unavailable');
    expect(err.message).toMatch(/410.*notify\.ops/);
  });

  it('a receiver that is not there is retried', async () => {
    await receiver.close();
    const err = await failureOf(notifier()(delivery(), signal()));
    expect(err.code).toBe('unavailable');
    expect(err.message).toBe('webhook ops could not be reached: ECONNREFUSED');
  });

  it('a job that no longer exists gives the delivery up', async () => {
    const err = await failureOf(
      notifier()(delivery({ job_id: '01JBBBBBBBBBBBBBBBBBBBBBBB' }), signal()),
    );
    expect(err.code).toBe('not_found');
  });

  it('an abort ends the request with the abort, not a ForgeError', async () => {
    const controller = new AbortController();
    controller.abort(new Error('shutting down'));
    await expect(notifier()(delivery(), controller.signal)).rejects.toThrow('shutting down');
    expect(receiver.requests).toHaveLength(0);
  });

  it('no error message holds the secret or the URL', async () => {
    const messages: string[] = [];
    for (const status of [400, 401, 410, 503]) {
      receiver.failNext(1, status);
      messages.push((await failureOf(notifier()(delivery(), signal()))).message);
    }
    const bad = `http://[${SECRET}/path-token-9d2e`; // fetch quotes a URL it cannot parse
    messages.push((await failureOf(notifier({ url: bad })(delivery(), signal()))).message);
    await receiver.close();
    messages.push((await failureOf(notifier()(delivery(), signal()))).message);
    for (const message of messages) {
      expect(message).not.toContain(SECRET);
      expect(message).not.toContain('path-token-9d2e');
    }
  });
});
