import { signatureFor } from '../intake/webhook-signature.ts';
import { describe, expect, it } from 'vitest';
import { checkWakeSignature, DeliveryMemory, forgeSignature } from './wake-signature.ts';

const secret = 'steward-secret-0123456789';
const raw = Buffer.from('{"status":"failure"}');
const nowMs = 1_800_000_000_000;
const now = nowMs / 1000;

function check(headers: Record<string, string>, seen = new DeliveryMemory()) {
  return checkWakeSignature({
    steward: 'ci',
    secret,
    headers: new Headers(headers),
    raw,
    nowMs,
    seen,
  });
}

describe('a signed wake', () => {
  it("takes Forge's own signature over the timestamp and body", () => {
    expect(
      check({
        'x-forge-timestamp': String(now),
        'x-forge-signature': forgeSignature(secret, now, raw),
      }),
    ).toEqual({ ok: true, by: 'webhook' });
  });

  it('refuses another secret, another body, a moved timestamp, and a stale one', () => {
    const cases: Array<Record<string, string>> = [
      {
        'x-forge-timestamp': String(now),
        'x-forge-signature': forgeSignature('x'.repeat(20), now, raw),
      },
      {
        'x-forge-timestamp': String(now),
        'x-forge-signature': forgeSignature(secret, now, Buffer.from('{}')),
      },
      {
        'x-forge-timestamp': String(now + 1),
        'x-forge-signature': forgeSignature(secret, now, raw),
      },
      {
        'x-forge-timestamp': String(now - 301),
        'x-forge-signature': forgeSignature(secret, now - 301, raw),
      },
      { 'x-forge-signature': forgeSignature(secret, now, raw) },
      { 'x-forge-timestamp': 'soon', 'x-forge-signature': 'sha256=00' },
      {},
    ];
    for (const headers of cases) expect(check(headers).ok).toBe(false);
  });

  it("takes a forge's webhook signature once per delivery id", () => {
    const seen = new DeliveryMemory();
    const headers = {
      'x-hub-signature-256': signatureFor('github', secret, raw),
      'x-github-delivery': 'd-1',
    };
    expect(check(headers, seen)).toEqual({ ok: true, by: 'webhook:github' });
    const replay = check(headers, seen);
    expect(replay.ok).toBe(false);
    expect(!replay.ok && replay.message).toMatch(/already used/);
    expect(
      check(
        { 'x-gitea-signature': signatureFor('gitea', secret, raw), 'x-gitea-delivery': 'd-2' },
        seen,
      ),
    ).toEqual({ ok: true, by: 'webhook:gitea' });
    // Without a delivery id a replay could not be told apart.
    expect(check({ 'x-hub-signature-256': signatureFor('github', secret, raw) }).ok).toBe(false);
    expect(
      check({
        'x-hub-signature-256': signatureFor('github', 'y'.repeat(20), raw),
        'x-github-delivery': 'd-3',
      }).ok,
    ).toBe(false);
  });

  it('forgets the oldest delivery ids past its limit', () => {
    const memory = new DeliveryMemory(2);
    expect(memory.remember('a')).toBe(true);
    expect(memory.remember('b')).toBe(true);
    expect(memory.remember('c')).toBe(true);
    expect(memory.remember('a')).toBe(true);
    expect(memory.remember('c')).toBe(false);
  });
});
