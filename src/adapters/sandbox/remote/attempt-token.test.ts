import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { attemptToken, loadWorkerSecret, verifyAttemptToken } from './attempt-token.ts';

const dir = mkdtempSync(join(tmpdir(), 'forge-token-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const secret = Buffer.alloc(32, 1);

describe('attempt token', () => {
  it('names the attempt it was made for, and only with the secret that made it', () => {
    const token = attemptToken(secret, { jobId: '01JOB', attempt: 2 });
    expect(verifyAttemptToken(secret, token)).toEqual({ jobId: '01JOB', attempt: 2 });
    expect(verifyAttemptToken(Buffer.alloc(32, 2), token)).toBeNull();
  });

  it('a token altered to name another attempt is refused', () => {
    const token = attemptToken(secret, { jobId: '01JOB', attempt: 2 });
    const mac = token.split('.')[1]!;
    const other = `${Buffer.from('01JOB/3').toString('base64url')}.${mac}`;
    expect(verifyAttemptToken(secret, other)).toBeNull();
  });

  it('any string that is not a token made with the secret is refused without throwing', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 600 }), (text) => {
        expect(verifyAttemptToken(secret, text)).toBeNull();
      }),
    );
  });

  it('round-trips every job id and attempt', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 100 }),
        fc.integer({ min: 1, max: 1000 }),
        (jobId, attempt) => {
          expect(verifyAttemptToken(secret, attemptToken(secret, { jobId, attempt }))).toEqual({
            jobId,
            attempt,
          });
        },
      ),
    );
  });

  it('the worker secret is made once, private to the server, and read back after a restart', () => {
    const file = join(dir, 'data', 'worker-secret');
    const first = loadWorkerSecret(file);
    expect(first).toHaveLength(32);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(loadWorkerSecret(file).equals(first)).toBe(true);
  });
});
