import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LineSplitter, type LinePiece } from './line-splitter.ts';
import { createRedactor } from './redactor.ts';

describe('LineSplitter', () => {
  it('joins lines split across chunks and strips CR', () => {
    const s = new LineSplitter();
    expect(s.push(Buffer.from('hel'))).toEqual([]);
    expect(s.push(Buffer.from('lo\r\nwor'))).toEqual(['hello']);
    expect(s.push(Buffer.from('ld\n\n'))).toEqual(['world', '']);
    expect(s.end()).toEqual([]);
  });

  it('returns a last line without newline at the end', () => {
    const s = new LineSplitter();
    s.push(Buffer.from('a\nb'));
    expect(s.end()).toEqual(['b']);
  });

  it('cuts an endless line into bounded pieces without splitting characters', () => {
    const s = new LineSplitter(7);
    const lines = s.push(Buffer.from('ééééé')); // 10 bytes
    expect(lines).toEqual(['ééé']);
    expect(s.end()).toEqual(['éé']);
  });

  it('cuts a long run of bytes that are not UTF-8 at the limit instead of looping forever', async () => {
    // Before the bound on the back-off, this froze the server: the back-off reached 0 and push
    // emitted empty lines forever. A worker keeps a regression from wedging the test run.
    const lengths = await inWorker(`
      const s = new LineSplitter();
      const lines = s.push(Buffer.alloc(3 * 64 * 1024 + 5, 0x80));
      return [...lines, ...s.end()].map((line) => Buffer.byteLength(line));
    `);
    expect(lengths).toEqual([64 * 1024, 64 * 1024, 64 * 1024, 5].map((n) => n * 3)); // each byte → U+FFFD
  });

  it('refuses a secret that could not fit in one piece of a line', () => {
    expect(() => new LineSplitter(16, createRedactor(['x'.repeat(17)]))).toThrow(/17 bytes/);
  });
});

describe('LineSplitter on any bytes', () => {
  it('emits pieces that re-join, with the newlines that ended them, to exactly the input', () => {
    fc.assert(
      fc.property(anyBytes, chunkSizes, maxLine, (input, sizes, limit) => {
        const s = new LineSplitter(limit);
        const pieces: LinePiece[] = [];
        let fed = 0;
        for (const chunk of chunked(input, sizes)) {
          pieces.push(...s.pushBytes(chunk));
          fed += chunk.length;
          // What the splitter still holds is what it was fed minus what it gave back.
          expect(fed - joined(pieces).length).toBeLessThanOrEqual(limit);
        }
        pieces.push(...s.endBytes());
        expect(joined(pieces).equals(input)).toBe(true);
        // Where the stream is cut does not depend on how it arrived.
        const whole = new LineSplitter(limit);
        const once = [...whole.pushBytes(input), ...whole.endBytes()];
        expect(pieces.map((p) => p.bytes.length)).toEqual(once.map((p) => p.bytes.length));
        for (const piece of pieces) {
          expect(piece.bytes.length).toBeLessThanOrEqual(limit);
          // A piece cut for length backs off at most 3 bytes to a character boundary.
          if (!piece.newline && piece !== pieces.at(-1))
            expect(piece.bytes.length).toBeGreaterThanOrEqual(Math.max(1, limit - 3));
        }
      }),
    );
  });

  it('gives, a chunk at a time as text, exactly the lines it gives one by one, joined', () => {
    fc.assert(
      fc.property(anyBytes, chunkSizes, maxLine, (input, sizes, limit) => {
        const byLine = new LineSplitter(limit);
        const byChunk = new LineSplitter(limit);
        const expected: string[] = [];
        const got: string[] = [];
        for (const chunk of chunked(input, sizes)) {
          const lines = byLine.push(chunk);
          const text = byChunk.pushText(chunk);
          expect(text).toBe(lines.length ? lines.join('\n') : null);
          expected.push(...lines);
          if (text !== null) got.push(text);
        }
        expect(byChunk.end()).toEqual(byLine.end());
        expect(got.join('\n')).toBe(expected.join('\n'));
      }),
      { numRuns: 300 },
    );
  });

  it('never cuts inside a character of valid UTF-8', () => {
    fc.assert(
      // 4 bytes is the least that holds any character.
      fc.property(text, chunkSizes, fc.integer({ min: 4, max: 64 }), (input, sizes, limit) => {
        const s = new LineSplitter(limit);
        const pieces = chunked(Buffer.from(input), sizes).flatMap((chunk) => s.pushBytes(chunk));
        for (const piece of [...pieces, ...s.endBytes()])
          expect(Buffer.from(piece.bytes.toString()).equals(piece.bytes)).toBe(true);
      }),
    );
  });

  it('never cuts inside a secret, so redacting the pieces hides what redacting whole lines does', () => {
    fc.assert(
      fc.property(
        withSecrets,
        chunkSizes,
        fc.integer({ min: 3, max: 40 }),
        ({ secrets, input }, sizes, slack) => {
          const redactor = createRedactor(secrets);
          const longest = Math.max(...secrets.map((secret) => Buffer.byteLength(secret)));
          const s = new LineSplitter(longest + slack, redactor);
          const bytes = Buffer.from(input);
          const pieces = chunked(bytes, sizes).flatMap((chunk) => s.pushBytes(chunk));
          pieces.push(...s.endBytes());
          const shown = pieces.map((piece) => ({
            text: redactor.redact(piece.bytes.toString()),
            newline: piece.newline,
          }));
          for (const piece of shown)
            for (const secret of secrets) expect(piece.text).not.toContain(secret);
          // The display joined back into lines: a secret split by a cut would show here.
          const display = shown.map((p) => p.text + (p.newline ? '\n' : '')).join('');
          for (const secret of secrets) expect(display).not.toContain(secret);
          expect(display).toBe(
            input
              .split('\n')
              .map((line) => redactor.redact(line))
              .join('\n'),
          );
        },
      ),
    );
  });
});

// Small limits so that cuts happen often.
const maxLine = fc.integer({ min: 1, max: 64 });
const chunkSizes = fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 10 });

/** Byte streams biased toward what breaks splitters: runs of continuation bytes, lone lead bytes,
 *  CR and LF, valid multi-byte text and plain noise. */
const anyBytes = fc
  .array(
    fc.oneof(
      fc.array(fc.integer({ min: 0x80, max: 0xbf }), { minLength: 1, maxLength: 150 }),
      fc.constantFrom([0xc3], [0xe2, 0x82], [0xf0], [0xf0, 0x9f, 0x98]),
      fc.constantFrom([13], [10], [13, 10]),
      fc.string({ unit: 'binary', maxLength: 20 }).map((s) => [...Buffer.from(s)]),
      fc.uint8Array({ maxLength: 40 }).map((a) => [...a]),
    ),
    { maxLength: 30 },
  )
  .map((parts) => Buffer.from(parts.flat()));

const text = fc
  .array(fc.oneof(fc.string({ unit: 'binary', maxLength: 30 }), fc.constantFrom('\n', '\r\n')), {
    maxLength: 20,
  })
  .map((parts) => parts.join(''));

/** Secrets over a tiny alphabet (so they overlap and repeat, like `abababab`), and text made of
 *  them and of filler over the same alphabet. */
const secretChar = fc.constantFrom('a', 'b', 'é');
const withSecrets = fc
  .array(fc.string({ unit: secretChar, minLength: 8, maxLength: 12 }), {
    minLength: 1,
    maxLength: 4,
  })
  .chain((secrets) =>
    fc
      .array(
        fc.oneof(
          fc.constantFrom(...secrets),
          fc.string({ unit: fc.constantFrom('a', 'b', 'é', 'x', '€', '\n'), maxLength: 30 }),
        ),
        { maxLength: 25 },
      )
      .map((parts) => ({ secrets, input: parts.join('') })),
  );

/** `input` cut into chunks of the given sizes, cycling through them. */
function chunked(input: Buffer, sizes: number[]): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0, i = 0; at < input.length; i++) {
    const size = sizes[i % sizes.length]!;
    chunks.push(input.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

function joined(pieces: LinePiece[]): Buffer {
  return Buffer.concat(
    pieces.flatMap((p) => (p.newline ? [p.bytes, Buffer.from('\n')] : [p.bytes])),
  );
}

/** Runs `body` (with `LineSplitter` in scope) in a worker, so a splitter that never returns fails
 *  the test instead of freezing the test run. */
async function inWorker(body: string): Promise<unknown> {
  const url = new URL('./line-splitter.ts', import.meta.url).href;
  const worker = new Worker(
    `const { parentPort } = require('node:worker_threads');
     import(${JSON.stringify(url)}).then(({ LineSplitter }) => {
       parentPort.postMessage((() => { ${body} })());
     });`,
    { eval: true },
  );
  const timeout = new AbortController();
  try {
    return await Promise.race([
      // Rejects if the worker throws.
      once(worker, 'message').then(([result]: unknown[]) => result),
      sleep(10_000, undefined, { signal: timeout.signal }).then(() => {
        throw new Error('the splitter did not return within 10 s: it loops forever');
      }),
    ]);
  } finally {
    timeout.abort();
    await worker.terminate();
  }
}
