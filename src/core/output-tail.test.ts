import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OutputTail } from './output-tail.ts';

describe('OutputTail', () => {
  it('keeps everything under the limit and is not truncated', () => {
    const tail = new OutputTail(10);
    tail.push(Buffer.from('0123456789'));
    expect(tail.text()).toBe('0123456789');
    expect(tail.truncated).toBe(false);
  });

  it('keeps exactly the last bytes and is truncated once one byte is dropped', () => {
    const tail = new OutputTail(10);
    tail.push(Buffer.from('0123456789'));
    tail.push(Buffer.from('A'));
    expect(tail.text()).toBe('123456789A');
    expect(tail.truncated).toBe(true);
  });

  it('never starts inside a multi-byte character', () => {
    const tail = new OutputTail(5);
    tail.push(Buffer.from('ééé')); // 6 bytes
    expect(tail.text()).toBe('éé');
    expect(tail.truncated).toBe(true);
  });

  it('stays bounded over many pushes', () => {
    const tail = new OutputTail(1024);
    for (let i = 0; i < 10_000; i++) tail.push(Buffer.from(`line ${i}\n`));
    expect(Buffer.byteLength(tail.text())).toBeLessThanOrEqual(1024);
    expect(tail.text().endsWith('line 9999\n')).toBe(true);
  });

  it('keeps the last bytes of output that is not UTF-8 instead of dropping them all', () => {
    const tail = new OutputTail(10);
    tail.push(Buffer.alloc(25, 0x80));
    expect(tail.text()).toBe('\uFFFD'.repeat(10));
    expect(tail.truncated).toBe(true);
  });

  it('on any bytes keeps a suffix of at most the limit, losing at most 3 bytes to a boundary', () => {
    fc.assert(
      fc.property(chunks(anyBytes), limit, fc.integer({ min: 1, max: 4 }), (input, max, every) => {
        const tail = new OutputTail(max);
        let all = Buffer.alloc(0);
        input.forEach((chunk, i) => {
          tail.push(chunk);
          all = Buffer.concat([all, chunk]);
          if (i % every === 0 || i === input.length - 1) {
            const kept = tail.bytes();
            expect(kept.length).toBeLessThanOrEqual(max);
            expect(kept.length).toBeGreaterThanOrEqual(Math.min(all.length, max - 3));
            expect(all.subarray(all.length - kept.length).equals(kept)).toBe(true);
            expect(tail.truncated).toBe(kept.length < all.length);
          }
        });
      }),
    );
  });

  it('on valid UTF-8 text never starts inside a character', () => {
    fc.assert(
      fc.property(
        chunks(fc.string({ unit: 'binary' }).map((s) => Buffer.from(s))),
        limit,
        (input, max) => {
          const tail = new OutputTail(max);
          for (const chunk of input) tail.push(chunk);
          expect(Buffer.from(tail.text()).equals(tail.bytes())).toBe(true);
        },
      ),
    );
  });
});

const limit = fc.integer({ min: 1, max: 64 });

/** Byte strings biased toward what breaks a cut: runs of continuation bytes, lone lead bytes. */
const anyBytes = fc.oneof(
  fc.uint8Array({ maxLength: 80 }).map((a) => Buffer.from(a)),
  fc.integer({ min: 1, max: 150 }).map((n) => Buffer.alloc(n, 0xbf)),
  fc.constantFrom(Buffer.from([0xe2]), Buffer.from([0xf0, 0x9f]), Buffer.from('é€😀')),
);

function chunks(bytes: fc.Arbitrary<Buffer>): fc.Arbitrary<Buffer[]> {
  return fc.array(bytes, { minLength: 1, maxLength: 20 });
}
