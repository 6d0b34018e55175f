import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { workerRoutes } from '../../../http/routes/worker.ts';
import { createRemoteAttempts } from './remote-attempts.ts';
import { createWarmAssignments, isPoolToken, poolToken } from './warm-assignments.ts';

const never = new AbortController().signal;

describe('warm assignments', () => {
  it('give an offered token to the pod that waits for it, once', async () => {
    const warm = createWarmAssignments();
    const waiting = warm.take('pod-a', null, 10_000, never);
    warm.offer('pod-b', 'token-b');
    warm.offer('pod-a', 'token-a');
    expect(await waiting).toBe('token-a');
    expect(await warm.take('pod-a', null, 0, never)).toBeNull(); // taken once
    expect(await warm.take('pod-b', null, 0, never)).toBe('token-b'); // offered before asked
  });

  it("refuse another pod's address, and nothing is left after a withdraw", async () => {
    const warm = createWarmAssignments();
    warm.offer('pod-a', 'token-a', '10.0.0.5');
    await expect(warm.take('pod-a', '10.0.0.9', 0, never)).rejects.toThrow(/only the pod itself/);
    expect(await warm.take('pod-a', '::ffff:10.0.0.5', 0, never)).toBe('token-a');
    warm.offer('pod-c', 'token-c');
    warm.withdraw('pod-c');
    expect(await warm.take('pod-c', null, 0, never)).toBeNull();
  });

  it('stop waiting when the asker goes away', async () => {
    const warm = createWarmAssignments();
    const gone = new AbortController();
    const waiting = warm.take('pod-a', null, 60_000, gone.signal);
    gone.abort();
    expect(await waiting).toBeNull();
  });

  it('the pool token is derived from the worker secret and checked in constant time', () => {
    const secret = Buffer.alloc(32, 3);
    expect(isPoolToken(secret, poolToken(secret))).toBe(true);
    expect(isPoolToken(secret, poolToken(Buffer.alloc(32, 4)))).toBe(false);
    expect(isPoolToken(secret, 'short')).toBe(false);
  });

  it('over HTTP: the pool token is required, 204 while nothing is offered, then the token', async () => {
    const secret = Buffer.alloc(32, 5);
    const attempts = createRemoteAttempts(() => secret);
    const app = new Hono().route('/', workerRoutes(attempts));
    const ask = (token: string, body: unknown = { pod: 'warm-0' }) =>
      app.request('/worker/warm/v1/assignment?wait=0', {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await ask('not-the-pool-token')).status).toBe(401);
    expect((await ask(poolToken(secret), { pod: 'x'.repeat(10_000) })).status).toBe(413);
    expect((await ask(poolToken(secret), { pod: '' })).status).toBe(400);
    expect((await ask(poolToken(secret))).status).toBe(204);
    attempts.warm.offer('warm-0', 'the-attempt-token');
    const given = await ask(poolToken(secret));
    expect(given.status).toBe(200);
    expect(await given.json()).toEqual({ token: 'the-attempt-token' });
  });
});
