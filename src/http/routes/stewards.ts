/**
 * The stewards' API: read them (any role), pause, resume, wake and edit notes (operator). A wake
 * may instead be signed with the steward's `webhook_secret` when its triggers include `webhook`,
 * so CI or a forge can call it without an API token (stewards/wake-signature.ts).
 */
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import type { ForgeConfig } from '../../config.ts';
import { ForgeError } from '../../domain/errors.ts';
import type { Stewards } from '../../stewards/stewards.ts';
import { checkWakeSignature, DeliveryMemory, hasSignature } from '../../stewards/wake-signature.ts';
import { checkBearer, mayWrite, readOnlyMessage } from '../auth.ts';
import { errorBody } from '../errors.ts';

/** A wake's body is ignored (it is never given to the agent); a forge's event may be large. */
const MAX_WAKE_BYTES = 1024 * 1024;
const MAX_NOTES_REQUEST_BYTES = 2 * 1024 * 1024;

const notesBody = z.strictObject({ text: z.string(), version: z.number().int().min(0).optional() });

function tooLarge(what: string) {
  return bodyLimit({
    maxSize: what === 'wake' ? MAX_WAKE_BYTES : MAX_NOTES_REQUEST_BYTES,
    onError: (c) =>
      c.json(errorBody('payload_too_large', `the ${what} request body is too large`), 413, {
        connection: 'close',
      }),
  });
}

/** `POST /stewards/{name}/wake`, mounted before bearer auth: a signature stands in for a token. */
export function stewardWakeRoute(stewards: Stewards, config: ForgeConfig): Hono {
  const app = new Hono();
  const seen = new DeliveryMemory();
  app.post('/stewards/:name/wake', tooLarge('wake'), async (c) => {
    const name = c.req.param('name');
    const steward = config.stewards[name];
    if (!steward) return stewardNotFound(c, name, stewards);
    const raw = new Uint8Array(await c.req.arrayBuffer());
    let by: string;
    if (hasSignature(c.req.raw.headers)) {
      if (!steward.triggers.includes('webhook') || !steward.webhook_secret)
        return c.json(
          errorBody(
            'forbidden',
            `steward "${name}" takes no signed wakes: add webhook to stewards.${name}.triggers and set its webhook_secret, or use an API token`,
          ),
          403,
        );
      const check = checkWakeSignature({
        steward: name,
        secret: steward.webhook_secret,
        headers: c.req.raw.headers,
        raw,
        nowMs: Date.now(),
        seen,
      });
      if (!check.ok) return c.json(errorBody('unauthorized', check.message), 401);
      by = check.by;
    } else {
      const tokens = config.server.tokens;
      if (tokens.length > 0) {
        const caller = checkBearer(tokens, c.req.header('authorization'));
        if (!caller.ok) return c.json(errorBody('unauthorized', caller.message), 401);
        if (!mayWrite(caller.role))
          return c.json(errorBody('forbidden', readOnlyMessage(caller.name, caller.role)), 403);
        by = `api:${caller.name}`;
      } else by = 'api';
    }
    const view = await stewards.wake(name, by.startsWith('webhook') ? 'webhook' : 'api', by);
    return c.json(view, 202);
  });
  return app;
}

/** The rest of the stewards' routes, behind bearer auth (roles as for jobs). */
export function stewardRoutes(stewards: Stewards, config: ForgeConfig): Hono {
  const app = new Hono();
  app.get('/stewards', async (c) => c.json({ stewards: await stewards.list() }));
  app.get('/stewards/:name', async (c) => c.json(await stewards.view(c.req.param('name'))));
  app.post('/stewards/:name/pause', async (c) => c.json(await stewards.pause(c.req.param('name'))));
  app.post('/stewards/:name/resume', async (c) =>
    c.json(await stewards.resume(c.req.param('name'))),
  );
  app.get('/stewards/:name/notes', async (c) => {
    const name = c.req.param('name');
    const raw = c.req.query('history') ?? '20';
    const limit = Number(raw);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100)
      throw new ForgeError(
        'invalid_request',
        `history: "${raw}" must be a whole number from 1 to 100`,
      );
    const history = await stewards.notesHistory(name, limit);
    return c.json({ notes: history[0] ?? null, history });
  });
  app.put('/stewards/:name/notes', tooLarge('notes'), async (c) => {
    let body: unknown;
    try {
      body = JSON.parse(await c.req.text());
    } catch {
      throw new ForgeError('invalid_request', 'request body is not JSON; send {"text": "..."}');
    }
    const parsed = notesBody.safeParse(body);
    if (!parsed.success)
      throw new ForgeError(
        'invalid_request',
        'send {"text": "<the notes, Markdown>", "version": <the version you edited, optional>}',
      );
    const by = callerOf(c, config);
    const { text, version } = parsed.data;
    return c.json(await stewards.editNotes(c.req.param('name'), text, by, version));
  });
  return app;
}

/** Who made a change, for the notes' history (bearer auth has already let the caller in). */
function callerOf(c: Context, config: ForgeConfig): string {
  const caller = checkBearer(config.server.tokens, c.req.header('authorization'));
  return caller.ok ? `api:${caller.name}` : 'api';
}

function stewardNotFound(c: Context, name: string, stewards: Stewards) {
  const known = stewards.names().join(', ') || 'none configured';
  return c.json(errorBody('not_found', `no steward named "${name}" (stewards: ${known})`), 404);
}
