import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRedactor } from './redactor.ts';

describe('createRedactor', () => {
  it('replaces every occurrence of every secret', () => {
    const r = createRedactor(['hunter22hunter22', 'sk-live-0123456789']);
    expect(r.redact('pw=hunter22hunter22 key=sk-live-0123456789 again hunter22hunter22')).toBe(
      'pw=[redacted] key=[redacted] again [redacted]',
    );
  });

  it('prefers the longest secret where two start at the same place', () => {
    const r = createRedactor(['token-abcdefgh', 'token-abcdefgh-and-more']);
    expect(r.redact('x token-abcdefgh-and-more y')).toBe('x [redacted] y');
  });

  it('treats regular-expression characters in secrets literally', () => {
    const r = createRedactor(['a.b*c+d?(e)[f]{g}|h^$\\i']);
    expect(r.redact('<a.b*c+d?(e)[f]{g}|h^$\\i> <aXbbbcdde>')).toBe('<[redacted]> <aXbbbcdde>');
  });

  it('redacts whatever secrets it is given, short ones too (config load refuses those)', () => {
    expect(createRedactor(['pass']).redact('a pass b')).toBe('a [redacted] b');
  });

  it('ignores empty and repeated secrets', () => {
    const r = createRedactor(['', 'secret-value', 'secret-value']);
    expect(r.redact('one secret-value two')).toBe('one [redacted] two');
    expect(createRedactor(['']).redact('unchanged')).toBe('unchanged');
  });

  it('with no secrets returns its input unchanged', () => {
    const text = 'nothing to hide $& $1';
    expect(createRedactor([]).redact(text)).toBe(text);
  });

  it('replaces exactly what a left-to-right, longest-first scan finds', () => {
    fc.assert(
      fc.property(secretsAndText, ({ secrets, text }) => {
        expect(createRedactor(secrets).redact(text)).toBe(reference(secrets, text));
      }),
    );
  });

  it('leaves no secret in its output', () => {
    fc.assert(
      fc.property(secretsAndText, ({ secrets, text }) => {
        const out = createRedactor(secrets).redact(text);
        for (const secret of secrets) if (secret) expect(out).not.toContain(secret);
      }),
    );
  });
});

/** Secrets over a small alphabet with regular-expression characters (so they overlap and need
 *  escaping) but none of `[redacted]`, and text made of them and of filler. */
const unit = fc.constantFrom('x', 'y', '.', '*', '\\', '$', 'é', '😀');
const secretsAndText = fc
  .array(fc.string({ unit, maxLength: 10 }), { minLength: 1, maxLength: 6 })
  .chain((secrets) =>
    fc
      .array(fc.oneof(fc.constantFrom(...secrets), fc.string({ unit, maxLength: 12 })), {
        maxLength: 20,
      })
      .map((parts) => ({ secrets, text: parts.join('') })),
  );

function reference(secrets: string[], text: string): string {
  const bySize = secrets.filter(Boolean).sort((a, b) => b.length - a.length);
  let out = '';
  for (let i = 0; i < text.length;) {
    const found = bySize.find((secret) => text.startsWith(secret, i));
    out += found ? '[redacted]' : text[i];
    i += found ? found.length : 1;
  }
  return out;
}
