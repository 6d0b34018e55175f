/**
 * `/worker/v1/*`: the worker protocol (adapters/sandbox/remote/protocol.ts), spoken by `forge
 * worker` processes running attempts away from this server. Authenticated by the attempt's own
 * token (not the API tokens, which a worker never holds): anything else is 401, a token for an
 * attempt this server no longer runs is 410 so the worker stops. Bodies are size-limited; output
 * is any bytes (it is output, checked and redacted by the core like a local agent's). The
 * protocol is described in adapters/sandbox/remote/protocol.ts; these routes know it only
 * through the small interfaces below, which the remote sandbox's registry fills.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import { errorBody } from '../errors.ts';

const PROTOCOL_PATH = '/worker/v1';

/** What these routes need of a live remote attempt (the remote sandbox's LiveAttempt). */
export interface WorkerAttempt {
  readonly labels: { jobId: string; attempt: number };
  readonly ended: boolean;
  /** The spec the worker fetches (see the protocol); sent as it is, with `output_acked`. */
  readonly spec: object;
  readonly acked: number;
  readonly workspaceBundle: string | null;
  /** Where uploads may be written. */
  readonly scratchDir: string;
  seen(): void;
  receiveOutput(offset: number, bytes: Buffer): { ok: boolean; acked: number; cancel?: boolean };
  waitForCancel(ms: number, signal: AbortSignal): Promise<boolean>;
  receiveResult(file: string): Promise<void>;
  receiveExit(report: z.infer<typeof exitBody>): boolean;
}

/** The registry of live remote attempts, looked up by bearer token. */
export interface WorkerAttempts {
  /** Attempts offered to warm pods by name (adapters/sandbox/remote/warm-assignments.ts). */
  warm: {
    take(
      pod: string,
      from: string | null,
      waitMs: number,
      signal: AbortSignal,
    ): Promise<string | null>;
  };
  isPoolToken(token: string): boolean;
  lookup(
    token: string,
  ):
    | { kind: 'live'; attempt: WorkerAttempt }
    | { kind: 'gone'; labels: { jobId: string; attempt: number } }
    | { kind: 'unauthorized' };
}

/** The most output one request carries (the worker sends at most 256 KiB). */
const MAX_OUTPUT_BYTES = 1024 * 1024;
/** The largest result bundle taken. */
const MAX_RESULT_BYTES = 1024 * 1024 * 1024;
const MAX_WAIT_MS = 30_000;

type Env = { Variables: { attempt: WorkerAttempt } };

const offsetQuery = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const waitQuery = z.coerce.number().int().min(0).max(MAX_WAIT_MS).default(20_000);
const exitBody = z.object({
  exit_code: z.number().int().nullable(),
  signal: z.string().max(32).nullable(),
  /** Set when the worker could not run the agent at all. */
  error: z
    .object({ category: z.enum(['agent_not_found', 'sandbox']), message: z.string().max(4000) })
    .optional(),
  /** All the output there is: the exit is refused until Forge holds it. */
  output_bytes: z.number().int().min(0),
});

function tooLarge(c: Context, what: string, limit: number): Response {
  return c.json(
    errorBody(
      'payload_too_large',
      `${what} is over ${limit / 1024 / 1024} MiB; send it in smaller pieces`,
    ),
    413,
    { connection: 'close' },
  );
}

const WARM_PATH = '/worker/warm/v1/assignment';
const warmBody = z.object({ pod: z.string().min(1).max(253) });

export function workerRoutes(attempts: WorkerAttempts): Hono<Env> {
  const app = new Hono<Env>();

  /** A warm pod asks for its attempt (long poll): 200 `{token}` once one is offered to it, 204
   *  while none is. Authenticated by the pool token every warm pod holds, not an attempt's. */
  app.post(
    WARM_PATH,
    bodyLimit({ maxSize: 4096, onError: (c) => tooLarge(c, 'an assignment request', 4096) }),
    async (c) => {
      const match = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '');
      if (!match || !attempts.isPoolToken(match[1]!))
        return c.json(
          errorBody(
            'unauthorized',
            "missing or invalid pool token: a warm worker reads it from FORGE_POOL_TOKEN, which the pod template takes from Forge's pool Secret",
          ),
          401,
        );
      const body = warmBody.safeParse(await c.req.json().catch(() => null));
      const wait = waitQuery.safeParse(c.req.query('wait'));
      if (!body.success || !wait.success)
        return c.json(
          errorBody(
            'invalid_request',
            `send {"pod": "<this pod's name>"} and wait up to ${MAX_WAIT_MS} ms`,
          ),
          400,
        );
      const from = remoteAddress(c);
      try {
        const token = await attempts.warm.take(body.data.pod, from, wait.data, c.req.raw.signal);
        return token === null ? c.body(null, 204) : c.json({ token });
      } catch (err) {
        return c.json(errorBody('forbidden', (err as Error).message), 403);
      }
    },
  );

  app.use(`${PROTOCOL_PATH}/*`, async (c, next) => {
    const match = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '');
    const found = match ? attempts.lookup(match[1]!) : { kind: 'unauthorized' as const };
    if (found.kind === 'unauthorized')
      return c.json(
        errorBody(
          'unauthorized',
          'missing or invalid attempt token: a worker reads its token from FORGE_WORKER_TOKEN or --token-file, as its launcher provided it',
        ),
        401,
      );
    if (found.kind === 'gone' || found.attempt.ended) {
      const { jobId, attempt } = found.kind === 'gone' ? found.labels : found.attempt.labels;
      return c.json(
        errorBody(
          'not_found',
          `attempt ${attempt} of job ${jobId} is not running on this Forge any more; the worker should stop`,
        ),
        410,
      );
    }
    found.attempt.seen();
    c.set('attempt', found.attempt);
    await next();
  });

  app.get(`${PROTOCOL_PATH}/attempt`, (c) => {
    const attempt = c.get('attempt');
    return c.json({ ...attempt.spec, output_acked: attempt.acked });
  });

  app.get(`${PROTOCOL_PATH}/workspace`, async (c) => {
    const file = c.get('attempt').workspaceBundle;
    if (!file)
      return c.json(
        errorBody('not_found', 'this attempt has no repository: start in an empty workspace'),
        404,
      );
    const size = (await stat(file)).size;
    const body = Readable.toWeb(createReadStream(file)) as unknown as ReadableStream;
    return c.body(body, 200, {
      'content-type': 'application/x-git-bundle',
      'content-length': String(size),
    });
  });

  app.post(
    `${PROTOCOL_PATH}/output`,
    bodyLimit({
      maxSize: MAX_OUTPUT_BYTES,
      onError: (c) => tooLarge(c, 'an output piece', MAX_OUTPUT_BYTES),
    }),
    async (c) => {
      const offset = offsetQuery.safeParse(c.req.query('offset'));
      if (!offset.success)
        return c.json(
          errorBody('invalid_request', 'offset must be the byte offset of the first byte sent'),
          400,
        );
      const bytes = Buffer.from(await c.req.arrayBuffer());
      const receipt = c.get('attempt').receiveOutput(offset.data, bytes);
      if (!receipt.ok)
        return c.json(
          {
            ...errorBody('conflict', `output resumes at byte ${receipt.acked}; resend from there`),
            acked: receipt.acked,
          },
          409,
        );
      return c.json({ acked: receipt.acked, cancel: receipt.cancel ?? false });
    },
  );

  app.get(`${PROTOCOL_PATH}/control`, async (c) => {
    const wait = waitQuery.safeParse(c.req.query('wait'));
    if (!wait.success)
      return c.json(
        errorBody('invalid_request', `wait must be milliseconds up to ${MAX_WAIT_MS}`),
        400,
      );
    const cancel = await c.get('attempt').waitForCancel(wait.data, c.req.raw.signal);
    return c.json({ cancel });
  });

  app.put(`${PROTOCOL_PATH}/result`, async (c) => {
    const attempt = c.get('attempt');
    const declared = Number(c.req.header('content-length') ?? '0');
    if (declared > MAX_RESULT_BYTES) return tooLarge(c, 'the result bundle', MAX_RESULT_BYTES);
    const body = c.req.raw.body;
    if (!body)
      return c.json(errorBody('invalid_request', 'send the result bundle as the body'), 400);
    const file = join(
      attempt.scratchDir,
      `result-${Date.now()}-${Math.random().toString(36).slice(2)}.bundle`,
    );
    let size = 0;
    const cap = new Transform({
      transform(chunk: Buffer, _enc, done) {
        size += chunk.length;
        done(size > MAX_RESULT_BYTES ? new Error('too large') : null, chunk);
      },
    });
    try {
      await pipeline(Readable.fromWeb(body), cap, createWriteStream(file));
      if (size > MAX_RESULT_BYTES) return tooLarge(c, 'the result bundle', MAX_RESULT_BYTES);
      await attempt.receiveResult(file);
      return c.json({ ok: true });
    } catch (err) {
      if (size > MAX_RESULT_BYTES) return tooLarge(c, 'the result bundle', MAX_RESULT_BYTES);
      if (attempt.ended)
        return c.json(
          errorBody(
            'not_found',
            'the attempt ended before its result arrived; the worker should stop',
          ),
          410,
        );
      return c.json(
        errorBody(
          'invalid_request',
          `the result bundle could not be applied: ${(err as Error).message}`,
        ),
        400,
      );
    } finally {
      await rm(file, { force: true });
    }
  });

  app.post(
    `${PROTOCOL_PATH}/exit`,
    bodyLimit({ maxSize: 64 * 1024, onError: (c) => tooLarge(c, 'an exit report', 64 * 1024) }),
    async (c) => {
      const parsed = exitBody.safeParse(await c.req.json().catch(() => null));
      if (!parsed.success)
        return c.json(
          errorBody(
            'invalid_request',
            `exit report: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
          ),
          400,
        );
      const attempt = c.get('attempt');
      if (!attempt.receiveExit(parsed.data))
        return c.json(
          {
            ...errorBody(
              'conflict',
              `output up to byte ${parsed.data.output_bytes} has not all arrived (have ${attempt.acked}); send the rest first`,
            ),
            acked: attempt.acked,
          },
          409,
        );
      return c.json({ ok: true });
    },
  );
  // The worker paths are this file's alone: a wrong method or path ends here, not in the API's
  // bearer auth (a worker holds no API token).
  app.all(`${PROTOCOL_PATH}/*`, (c) => {
    const name = c.req.path.slice(PROTOCOL_PATH.length + 1);
    const allow = ALLOW[name];
    if (!allow)
      return c.json(
        errorBody(
          'not_found',
          `no worker route ${c.req.path}; is the worker the same version as Forge?`,
        ),
        404,
      );
    c.header('Allow', allow);
    return c.json(
      errorBody(
        'method_not_allowed',
        `${c.req.method} is not allowed on ${c.req.path}; use ${allow}`,
      ),
      405,
    );
  });
  return app;
}

const ALLOW: Record<string, string> = {
  attempt: 'GET',
  workspace: 'GET',
  control: 'GET',
  output: 'POST',
  exit: 'POST',
  result: 'PUT',
};

/** The caller's address, when the server runs on Node (null in tests that call the app directly). */
function remoteAddress(c: Context): string | null {
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)
    ?.incoming;
  return incoming?.socket?.remoteAddress ?? null;
}
