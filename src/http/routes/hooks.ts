import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { WebhookReceiver } from '../../intake/webhook-receiver.ts';
import { errorBody } from '../errors.ts';

/** Forges' issue and comment events are small; anything larger is not one. */
const MAX_HOOK_BYTES = 2 * 1024 * 1024;

/** `POST /hooks/{source}`: webhooks from forges. Authenticated by their signature, not by bearer
 *  tokens (a forge cannot send one). */
export function hookRoutes(receivers: ReadonlyMap<string, WebhookReceiver>): Hono {
  const app = new Hono();
  app.post(
    '/hooks/:source',
    bodyLimit({
      maxSize: MAX_HOOK_BYTES,
      onError: (c) =>
        c.json(errorBody('payload_too_large', 'webhook body is over 2 MiB'), 413, {
          connection: 'close',
        }),
    }),
    async (c) => {
      const source = c.req.param('source');
      const receiver = receivers.get(source);
      if (!receiver) {
        const known = [...receivers.keys()].join(', ') || 'none configured';
        return c.json(
          errorBody('not_found', `no intake source named "${source}" (sources: ${known})`),
          404,
        );
      }
      const raw = new Uint8Array(await c.req.arrayBuffer());
      const answer = await receiver.accept(c.req.raw.headers, raw);
      return c.json(answer.body, answer.status);
    },
  );
  return app;
}
