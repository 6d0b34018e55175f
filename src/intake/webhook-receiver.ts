/**
 * The front of `POST /hooks/{source}`: checks the forge's signature over the raw body, reads the
 * event, and queues it in the outbox (keyed by the forge's delivery id, so a redelivery is
 * recognised) for the intake to work on. It never works inline: the forge's delivery timeout
 * (Gitea's default is 5 s) is far shorter than asking the forge who may write, and a crash after
 * the answer must not lose the event.
 */
import { createHash } from 'node:crypto';
import type { Outbox } from '../ports/outbox.ts';
import { parseWebhook } from './webhook-events.ts';
import { SIGNATURE_HEADER, validSignature, type ForgeKind } from './webhook-signature.ts';

export interface WebhookAnswer {
  status: 200 | 202 | 400 | 401 | 403;
  body: Record<string, unknown>;
}

export interface WebhookReceiver {
  accept(
    headers: { get(name: string): string | null | undefined },
    raw: Uint8Array,
  ): Promise<WebhookAnswer>;
}

export function intakeSink(source: string): string {
  return `intake:${source}`;
}

export function createWebhookReceiver(opts: {
  source: string;
  kind: ForgeKind;
  /** null: webhooks are not enabled for this source. */
  secret: string | null;
  outbox: Pick<Outbox, 'enqueue'>;
}): WebhookReceiver {
  return {
    async accept(headers, raw) {
      if (opts.secret === null) {
        return {
          status: 403,
          body: {
            error: `webhooks are not enabled for intake source "${opts.source}": set intake.${opts.source}.webhook_secret and the same secret on the forge's webhook`,
            code: 'forbidden',
          },
        };
      }
      const signature = headers.get(SIGNATURE_HEADER[opts.kind]) ?? undefined;
      if (!validSignature(opts.kind, opts.secret, raw, signature)) {
        return {
          status: 401,
          body: {
            error: `the ${SIGNATURE_HEADER[opts.kind]} signature does not match: the webhook's secret must equal intake.${opts.source}.webhook_secret`,
            code: 'unauthorized',
          },
        };
      }
      let json: unknown;
      try {
        json = JSON.parse(Buffer.from(raw).toString('utf8'));
      } catch {
        return {
          status: 400,
          body: {
            error: "the body is not JSON; set the webhook's content type to application/json",
            code: 'invalid_request',
          },
        };
      }
      const event = parseWebhook(opts.kind, headers, json);
      if (event.type === 'ignored') return { status: 200, body: { ignored: event.reason } };
      // Without a delivery id, the body itself identifies a redelivery.
      const key = event.delivery_id || createHash('sha256').update(raw).digest('hex');
      const [queued] = await opts.outbox.enqueue([
        {
          sink: intakeSink(opts.source),
          event: event.type,
          job_id: null,
          key,
          payload: event as unknown as Record<string, unknown>,
        },
      ]);
      return queued
        ? { status: 202, body: { queued: true } }
        : { status: 200, body: { duplicate: true } };
    },
  };
}
