/**
 * The REST API's contract from the outside, one check per route family against the real
 * `forge serve` (HTTP framing, sockets, the wiring). Every case of validation, listing and routing
 * is tested in process in src/http/api-validation.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, type ApiResponse, type ListJson } from '../support/api-answers.ts';
import { startForge, stopAllForges, type ForgeProcess } from '../support/forge-server.ts';

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const UNKNOWN_ID = '01ARZ3NDEKTSV4RRFFQ69G5FAV';

let forge: ForgeProcess;

async function post(
  body: unknown,
  headers: Record<string, string> = {},
): Promise<ApiResponse<unknown>> {
  return forge.api<unknown>('POST', '/jobs', body, headers);
}

async function list(query: string): Promise<ApiResponse<ListJson>> {
  return forge.api<ListJson>('GET', `/jobs${query}`);
}

beforeAll(async () => {
  forge = await startForge();
});
afterAll(stopAllForges);

describe('POST /jobs', () => {
  it('answers 202 with exactly {id, status: PENDING, created_at} and a ULID id', async () => {
    const res = await forge.api<Record<string, unknown>>('POST', '/jobs', {
      task: 'print hello',
      agent: 'script',
    });
    expect(res.status).toBe(202);
    expect(Object.keys(res.body).sort()).toEqual(['created_at', 'id', 'status']);
    expect(res.body.id).toMatch(ULID);
    expect(res.body.status).toBe('PENDING');
    expect(new Date(res.body.created_at as string).toISOString()).toBe(res.body.created_at);
  });

  it('refuses a body over 1 MiB with 413 and keeps answering the same keep-alive client', async () => {
    const res = await post({ task: 'x'.repeat(2_000_000) });
    expectError(res, 413, 'payload_too_large', /1 MiB/);
    // The server drops the unread body; the client must not be left holding a dead socket.
    for (let i = 0; i < 5; i++) {
      expect((await forge.api('GET', '/health')).status).toBe(200);
      await new Promise((r) => setTimeout(r, 200));
    }
  });

  it('refuses malformed JSON with 400 saying the body is not JSON', async () => {
    expectError(await post('{"task": "print hi"'), 400, 'invalid_request', /JSON/);
  });
});

describe('GET /jobs', () => {
  it('lists newest first, filtered by tags and status, and refuses a bad status', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await forge.submit(`print ${i}`, { tags: ['e2e-list'] }));
    const res = await list('?tags=e2e-list&limit=2');
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(3);
    expect(res.body.jobs.map((j) => j.id)).toEqual([ids[2], ids[1]]);
    expectError(await list('?status=sleeping'), 400, 'invalid_request', /status.*sleeping/);
  });
});

describe('job routes and routing', () => {
  it('answers 404 JSON for an unknown job', async () => {
    expectError(await forge.api('GET', `/jobs/${UNKNOWN_ID}`), 404, 'not_found', UNKNOWN_ID);
  });

  it.each([
    ['DELETE', '/jobs', /GET|POST/],
    ['GET', `/jobs/${UNKNOWN_ID}/cancel`, /POST/],
    ['PUT', `/jobs/${UNKNOWN_ID}`, /GET/],
    ['POST', '/health', /GET/],
  ])('answers 405 JSON for %s %s and says which methods work', async (method, path, allowed) => {
    const res = await forge.api(method, path);
    expectError(res, 405, 'method_not_allowed', allowed);
    expect(res.headers.get('allow')).toMatch(allowed);
  });

  it('answers GET /health with 200 {"status":"ok"} and an empty delivery backlog', async () => {
    const res = await forge.api('GET', '/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', deliveries: [], intake: {} });
  });
});
