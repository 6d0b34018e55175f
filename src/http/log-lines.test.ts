import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LineCutter, type LogLine } from './log-lines.ts';

/** Feeds `bytes` in the pieces that `cuts` mark, then ends: every line the cutter gives. */
function cutAll(bytes: Buffer, cuts: number[], maxBytes: number): LogLine[] {
  const cutter = new LineCutter(maxBytes);
  const lines: LogLine[] = [];
  let from = 0;
  for (const to of [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)) {
    if (to > from) lines.push(...cutter.push({ bytes: bytes.subarray(from, to), end: to }));
    from = Math.max(from, to);
  }
  if (bytes.length > from)
    lines.push(...cutter.push({ bytes: bytes.subarray(from), end: bytes.length }));
  const last = cutter.end();
  return last ? [...lines, last] : lines;
}

const logBytes = fc
  .array(
    fc.oneof(fc.constant(0x0a), fc.constantFrom(0xc3, 0xa9, 0xf0, 0x9f, 0x98, 0x80), fc.nat(255)),
    {
      maxLength: 300,
    },
  )
  .map((a) => Buffer.from(a));

describe('LineCutter', () => {
  it('covers every byte once, in order, however the log is chunked', () => {
    fc.assert(
      fc.property(
        logBytes,
        fc.array(fc.nat()),
        fc.integer({ min: 1, max: 16 }),
        (bytes, cuts, max) => {
          const lines = cutAll(bytes, cuts, max);
          let from = 0;
          for (const line of lines) {
            expect(line.end).toBeGreaterThan(from);
            const span = bytes.subarray(from, line.end);
            const whole = span.at(-1) === 0x0a;
            const body = whole ? span.subarray(0, -1) : span;
            expect(body.includes(0x0a)).toBe(false);
            expect(body.length).toBeLessThanOrEqual(max);
            expect(line.text).toBe(body.toString('utf8'));
            from = line.end;
          }
          expect(from).toBe(bytes.length);
        },
      ),
    );
  });

  it('sends a line without its newline, and the offset after the newline', () => {
    const cutter = new LineCutter(100);
    expect(cutter.push({ bytes: Buffer.from('ab\ncd'), end: 15 })).toEqual([
      { text: 'ab', end: 13 },
    ]);
    expect(cutter.push({ bytes: Buffer.from('e\n'), end: 17 })).toEqual([{ text: 'cde', end: 17 }]);
    expect(cutter.end()).toBeNull();
  });

  it('cuts a long line between characters, not inside one', () => {
    const cutter = new LineCutter(4);
    const lines = cutter.push({ bytes: Buffer.from('abéé\n'), end: 7 });
    expect(lines).toEqual([
      { text: 'abé', end: 4 },
      { text: 'é', end: 7 },
    ]);
  });

  it('gives what follows the last newline as a last line once the log has ended', () => {
    const cutter = new LineCutter(100);
    cutter.push({ bytes: Buffer.from([0x6f, 0x6b, 0x0a, 0xff, 0x41]), end: 5 });
    expect(cutter.end()).toEqual({ text: '\uFFFDA', end: 5 });
  });
});
