/**
 * Signed webhooks about jobs: one POST per delivery to the configured URL.
 *
 * The request:
 * - body: JSON `{ event, delivery_id, sent_at, job: { id, status, task, source, repo_url, branch,
 *   pr_url, cost_usd, turns, attempts, failure, created_at, updated_at } }`, where `event` is
 *   `queued`, `started`, `retrying` or `finished`; `status` is the job's status when the request
 *   is sent (it may have moved on since the event); `turns` sums every attempt's turns, `attempts`
 *   counts them; `failure` is null or `{ category, message }`; `repo_url`, `branch` and `pr_url`
 *   are null when there is none;
 * - `Content-Type: application/json`;
 * - `X-Forge-Event`: the event;
 * - `X-Forge-Delivery`: the delivery id. A delivery that is retried keeps its id (and may arrive
 *   more than once): receivers deduplicate on it;
 * - `X-Forge-Timestamp`: when this request was signed, in Unix seconds;
 * - `X-Forge-Signature`: `sha256=` and the lower-case hex HMAC-SHA256, keyed with the webhook's
 *   secret (its UTF-8 bytes), of the timestamp header's value, a `.`, and the raw request body
 *   exactly as received (bytes, before any JSON parsing): `HMAC(secret, "<timestamp>.<body>")`.
 *
 * A receiver recomputes the signature over the raw body, compares it in constant time, and refuses
 * a request whose timestamp is more than five minutes from its own clock, so a captured request
 * cannot be replayed later (a retry is signed afresh, with a new timestamp). It answers 2xx quickly
 * (within 30 seconds) and does its work afterwards.
 *
 * Answers: 2xx is delivered. 410 Gone gives the delivery up. Anything else (another status, a
 * redirect, no answer) is tried again later with back-off.
 */
import { createHmac } from 'node:crypto';
import { ForgeError } from '../domain/errors.ts';
import { jobBranch, type JobRecord } from '../domain/job.ts';
import type { Delivery } from '../ports/outbox.ts';
import type { DeliverFn } from '../core/outbox-worker.ts';

export interface WebhookNotifierOptions {
  /** The notifier's name under `notify:`, used in error messages instead of its URL (a URL can
   *  carry a token in its path or query). */
  name: string;
  url: string;
  secret: string;
  /** The job a delivery is about; null when it no longer exists. */
  getJob: (id: string) => Promise<JobRecord | null>;
  fetch?: typeof fetch;
  /** Epoch ms. */
  clock?: () => number;
}

/** The JSON a receiver gets. */
export interface WebhookBody {
  event: string;
  delivery_id: string;
  sent_at: string;
  job: {
    id: string;
    status: string;
    task: string;
    source: string;
    repo_url: string | null;
    branch: string | null;
    pr_url: string | null;
    cost_usd: number;
    turns: number;
    attempts: number;
    failure: JobRecord['failure'];
    created_at: string;
    updated_at: string;
  };
}

function webhookBody(delivery: Delivery, job: JobRecord, now: number): WebhookBody {
  return {
    event: delivery.event,
    delivery_id: String(delivery.id),
    sent_at: new Date(now).toISOString(),
    job: {
      id: job.id,
      status: job.status,
      task: job.task,
      source: job.source,
      repo_url: job.repo?.url ?? null,
      branch: job.result?.branch ?? (job.repo ? jobBranch(job) : null),
      pr_url: job.result?.pr_url ?? null,
      cost_usd: job.cost_usd,
      turns: job.attempts.reduce((sum, a) => sum + (a.turns ?? 0), 0),
      attempts: job.attempts.length,
      failure: job.failure,
      created_at: job.created_at,
      updated_at: job.updated_at,
    },
  };
}

/** The `X-Forge-Signature` value for a body sent at `timestamp` (Unix seconds). */
function webhookSignature(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export function createWebhookNotifier(opts: WebhookNotifierOptions): DeliverFn {
  const { name, url, secret, getJob } = opts;
  const doFetch = opts.fetch ?? fetch;
  const clock = opts.clock ?? Date.now;
  if (secret === '') throw new ForgeError('config', `notify.${name}: set a signing secret`);

  return async (delivery, signal) => {
    if (delivery.job_id === null)
      throw new ForgeError('invalid_request', `webhook ${name}: delivery is about no job`);
    const job = await getJob(delivery.job_id);
    if (job === null)
      throw new ForgeError('not_found', `webhook ${name}: job ${delivery.job_id} no longer exists`);
    const now = clock();
    const timestamp = Math.floor(now / 1000);
    const body = JSON.stringify(webhookBody(delivery, job, now));
    let res: Response;
    try {
      res = await doFetch(url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'X-Forge-Event': delivery.event,
          'X-Forge-Delivery': String(delivery.id),
          'X-Forge-Timestamp': String(timestamp),
          'X-Forge-Signature': webhookSignature(secret, timestamp, body),
        },
        body,
        // A signed request is never sent on to wherever a redirect points.
        redirect: 'manual',
        signal,
      });
    } catch (err) {
      if (signal.aborted) throw signal.reason as Error;
      const reason = why(err).replaceAll(url, '<url>').replaceAll(secret, '<secret>');
      throw new ForgeError('unavailable', `webhook ${name} could not be reached: ${reason}`);
    }
    await res.body?.cancel().catch(() => {}); // the answer's text is not read: free the socket
    if (res.ok) return;
    throw answerError(name, res.status);
  };
}

function answerError(name: string, status: number): ForgeError {
  const answered = `webhook ${name} answered ${status}`;
  if (status === 410)
    return new ForgeError(
      'not_found',
      `${answered} (Gone): the receiver asks for no more deliveries; remove notify.${name} or fix its url`,
    );
  if (status >= 300 && status < 400)
    return new ForgeError(
      'unavailable',
      `${answered} (a redirect): set notify.${name}.url to where it points`,
    );
  // Other 4xx are retried too: a receiver answering 401, 403 or 404 is most often being deployed
  // or has a wrong secret or route that someone is fixing, and the events it missed should arrive
  // once it is fixed. The back-off spaces the tries out, and the outbox gives up in the end.
  return new ForgeError('unavailable', answered);
}

/** Why a request got no answer: the system's error code (ECONNREFUSED, ENOTFOUND, …) or, without
 *  one, the message (which the caller scrubs: fetch's own errors can quote the URL). */
function why(err: unknown): string {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  const code = (cause as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  return cause instanceof Error ? cause.message : String(cause);
}
