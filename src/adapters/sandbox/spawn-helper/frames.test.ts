import { spawn } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeFrame, encodeSpawn, EVENT, FrameDecoder, REQUEST, type Frame } from './frames.ts';
import { findSpawnHelper } from './helper-binary.ts';

describe('FrameDecoder', () => {
  it('gives back every frame whole and in order, however the bytes are cut', () => {
    const frame = fc.record({
      type: fc.integer({ min: 0, max: 255 }),
      id: fc.nat(),
      payload: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
    });
    fc.assert(
      fc.property(
        fc.array(frame, { maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (frames, cuts) => {
          const bytes = Buffer.concat(frames.map((f) => encodeFrame(f.type, f.id, f.payload)));
          const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
          const decoder = new FrameDecoder();
          const out: Frame[] = [];
          let from = 0;
          for (const to of [...at, bytes.length]) {
            out.push(...decoder.push(bytes.subarray(from, to)));
            from = to;
          }
          expect(
            out.map((f) => ({ type: f.type, id: f.id, payload: Buffer.from(f.payload) })),
          ).toEqual(frames);
        },
      ),
    );
  });
});

describe('forge-spawn requests', () => {
  it('answers every truncated spawn request as malformed, and keeps serving', async () => {
    const built = findSpawnHelper();
    if (!built.ok) throw new Error(built.reason);
    const valid = encodeSpawn({
      argv: ['true'],
      env: { PATH: '/usr/bin:/bin' },
      cwd: '/',
      cgroup: null,
      stdin: { kind: 'data', data: Buffer.from('input') },
    });
    const helper = spawn(built.path, [], { stdio: ['pipe', 'pipe', 'inherit'] });
    const decoder = new FrameDecoder();
    const frames: Frame[] = [];
    const expected = valid.length + 1;
    const done = new Promise<void>((resolve) => {
      helper.stdout.on('data', (chunk: Buffer) => {
        frames.push(...decoder.push(chunk));
        // every prefix fails; the whole request starts `true`, which exits
        if (frames.some((f) => f.type === EVENT.exit)) resolve();
      });
    });
    for (let len = 0; len < valid.length; len++) {
      helper.stdin.write(encodeFrame(REQUEST.spawn, len + 1, valid.subarray(0, len)));
    }
    helper.stdin.write(encodeFrame(REQUEST.spawn, expected, valid));
    await done;
    helper.stdin.end();
    const failed = frames.filter((f) => f.type === EVENT.failed);
    expect(failed.map((f) => f.id)).toEqual(Array.from({ length: valid.length }, (_, i) => i + 1));
    expect(new Set(failed.map((f) => f.payload.toString()))).toEqual(
      new Set(['the spawn request was malformed']),
    );
    expect(frames.find((f) => f.type === EVENT.started)?.id).toBe(expected);
  });
});
