/**
 * The bearer token a worker holds: valid for one attempt only, and checkable by any Forge that
 * holds the worker secret, so a restarted orchestrator still recognises its running workers.
 *
 *   token = base64url("<jobId>/<attempt>") "." hex(HMAC-SHA256(secret, "<jobId>/<attempt>"))
 *
 * The attempt it names is in clear (the server needs it to find the attempt; it is not secret);
 * the MAC makes it unforgeable. The secret is `<dataDir>/worker-secret` (32 random bytes, 0600),
 * made once. Tokens never go into argv, URLs or logs.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ForgeError } from '../../../domain/errors.ts';
import type { SandboxLabels } from '../../../ports/sandbox.ts';

const SECRET_BYTES = 32;

/** Reads the worker secret at `file`, creating it (0600) when it does not exist yet. */
export function loadWorkerSecret(file: string): Buffer {
  try {
    const secret = readFileSync(file);
    if (secret.length < SECRET_BYTES)
      throw new ForgeError(
        'config',
        `the worker secret ${file} holds ${secret.length} bytes, fewer than ${SECRET_BYTES}; delete it to have Forge make a new one (running workers will then be refused)`,
      );
    return secret;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(dirname(file), { recursive: true });
  const secret = randomBytes(SECRET_BYTES);
  try {
    // 'wx': two servers starting at once must not overwrite each other's secret.
    writeFileSync(file, secret, { mode: 0o600, flag: 'wx' });
    return secret;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(file);
    throw err;
  }
}

function mac(secret: Buffer, subject: string): Buffer {
  return createHmac('sha256', secret).update(subject).digest();
}

export function attemptToken(secret: Buffer, labels: SandboxLabels): string {
  const subject = `${labels.jobId}/${labels.attempt}`;
  return `${Buffer.from(subject).toString('base64url')}.${mac(secret, subject).toString('hex')}`;
}

/** The attempt a token was made for, or null when it is not a token this secret made. */
export function verifyAttemptToken(secret: Buffer, token: string): SandboxLabels | null {
  const match = /^([A-Za-z0-9_-]{1,400})\.([0-9a-f]{64})$/.exec(token);
  if (!match) return null;
  const subject = Buffer.from(match[1]!, 'base64url').toString('utf8');
  const given = Buffer.from(match[2]!, 'hex');
  if (!timingSafeEqual(given, mac(secret, subject))) return null;
  const parts = /^(.+)\/([1-9][0-9]{0,8})$/.exec(subject);
  if (!parts) return null;
  return { jobId: parts[1]!, attempt: Number(parts[2]) };
}
