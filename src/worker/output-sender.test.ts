// The output sender against a Forge whose answers get lost: whatever is lost, duplicated or cut
// off by a worker restart, Forge ends up with exactly the spool's bytes, once and in order.
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { placeOutput } from '../adapters/sandbox/remote/output-window.ts';
import { OutputSender, type SendOutput } from './output-sender.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'forge-spool-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

type Fate = 'lost-request' | 'lost-answer' | 'answered';

/** Forge's side as the worker routes keep it, behind a transport that loses what `fates` say
 *  (cycling), retried until a try is answered, as the worker client does. */
function flakyForge(fates: Fate[]) {
  const held: Buffer[] = [];
  let size = 0;
  let n = 0;
  const send: SendOutput = (offset, bytes) => {
    for (;;) {
      const fate = fates[n++ % fates.length]!;
      if (fate === 'lost-request') continue;
      const placed = placeOutput(size, offset, bytes.length);
      if (placed.ok && placed.acked > size) {
        held.push(bytes.subarray(placed.skip));
        size = placed.acked;
      }
      if (fate === 'answered') return Promise.resolve({ acked: size, cancel: false });
    }
  };
  return { send, held: () => Buffer.concat(held), size: () => size };
}

describe('output sender', () => {
  it('Forge holds exactly the spool, in order, whatever answers are lost and wherever the worker restarts', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.constantFrom<Fate>('lost-request', 'lost-answer', 'answered'), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.integer({ min: 0, max: 12 }),
        fc.integer({ min: 1, max: 200 }),
        async (writes, fates, restartAfter, pieceBytes) => {
          fc.pre(fates.includes('answered'));
          const spool = join(dir, `spool-${run++}`);
          await writeFile(spool, '');
          const forge = flakyForge(fates);
          const start = () =>
            new OutputSender({
              spool,
              send: forge.send,
              acked: forge.size(),
              heartbeatMs: 60_000,
              pieceBytes,
              pollMs: 1,
              onCancel: () => {},
            });
          let sender = start();
          for (const [i, bytes] of writes.entries()) {
            await appendFile(spool, bytes);
            if (i === restartAfter) {
              // The worker restarts: a new sender resumes from what Forge says it holds.
              sender.stop();
              await sender.done;
              sender = start();
            }
          }
          await sender.drain();
          sender.stop();
          await sender.done;
          expect(forge.held().equals(await readFile(spool))).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('a piece that would leave a hole is refused with the offset to resend from', () => {
    expect(placeOutput(10, 12, 5)).toEqual({ ok: false, acked: 10 });
    expect(placeOutput(10, 4, 10)).toEqual({ ok: true, skip: 6, acked: 14 });
    expect(placeOutput(10, 2, 3)).toEqual({ ok: true, skip: 3, acked: 10 });
  });
});
