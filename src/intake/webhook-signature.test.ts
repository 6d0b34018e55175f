import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { signatureFor, validSignature, type ForgeKind } from './webhook-signature.ts';

const KINDS: ForgeKind[] = ['forgejo', 'gitea', 'github'];
const SECRET = 'whsec-0123456789abcdef';

describe('webhook signatures', () => {
  it.each(KINDS)('%s: accepts the signature of the exact raw body', (kind) => {
    const body = Buffer.from('{"action":"label_updated","number":7}');
    expect(validSignature(kind, SECRET, body, signatureFor(kind, SECRET, body))).toBe(true);
  });

  it.each(KINDS)(
    '%s: refuses a missing, malformed, wrong-secret or other-body signature',
    (kind) => {
      const body = Buffer.from('{"number":7}');
      const good = signatureFor(kind, SECRET, body);
      for (const signature of [
        undefined,
        '',
        'not hex',
        good.slice(0, -2),
        `${good}00`,
        signatureFor(kind, 'another-secret-value', body),
        signatureFor(kind, SECRET, Buffer.from('{"number":8}')),
      ])
        expect(validSignature(kind, SECRET, body, signature)).toBe(false);
      expect(validSignature(kind, '', body, good)).toBe(false);
    },
  );

  it('refuses GitHub signatures without their sha256= prefix, and Gitea ones with it', () => {
    const body = Buffer.from('x');
    const hex = signatureFor('gitea', SECRET, body);
    expect(validSignature('github', SECRET, body, hex)).toBe(false);
    expect(validSignature('gitea', SECRET, body, `sha256=${hex}`)).toBe(false);
  });

  it('never throws and accepts only the true signature, for any body and header', () => {
    fc.assert(
      fc.property(fc.constantFrom(...KINDS), fc.uint8Array(), fc.string(), (kind, body, header) => {
        const forged = validSignature(kind, SECRET, body, header);
        expect(forged).toBe(
          header.trim() === signatureFor(kind, SECRET, body) ||
            header.trim().toLowerCase() === signatureFor(kind, SECRET, body),
        );
      }),
    );
  });
});
