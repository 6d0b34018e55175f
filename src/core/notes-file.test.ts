import { mkdtemp, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NOTES_FILE, placeNotes, takeNotes } from './notes-file.ts';

let ws: string;
beforeEach(async () => {
  ws = await mkdtemp(join(tmpdir(), 'forge-notes-'));
});
afterEach(async () => {
  await rm(ws, { recursive: true, force: true });
});

describe('a steward run notes file', () => {
  it('round-trips the notes and keeps them out of git add -A', async () => {
    execFileSync('git', ['init', '-q', ws]);
    await placeNotes(ws, '# notes\n- run 1\n');
    expect(await readFile(join(ws, NOTES_FILE), 'utf8')).toBe('# notes\n- run 1\n');
    expect(execFileSync('git', ['-C', ws, 'status', '--porcelain'], { encoding: 'utf8' })).toBe('');
    await writeFile(join(ws, NOTES_FILE), '# notes\n- run 1\n- run 2\n');
    expect(await takeNotes(ws, 1024)).toEqual({
      kind: 'notes',
      text: '# notes\n- run 1\n- run 2\n',
      cut: false,
    });
    expect(await takeNotes(ws, 1024)).toEqual({ kind: 'missing' });
  });

  it('replaces a link the repository holds by that name instead of writing through it', async () => {
    const outside = join(ws, 'outside.txt');
    await writeFile(outside, 'server file');
    const repo = join(ws, 'repo');
    await mkdir(repo);
    await symlink(outside, join(repo, NOTES_FILE));
    await placeNotes(repo, 'notes');
    expect(await readFile(outside, 'utf8')).toBe('server file');
    expect(await readFile(join(repo, NOTES_FILE), 'utf8')).toBe('notes');
  });

  it('never reads through a link the agent left, and removes it', async () => {
    const secret = join(ws, 'secret.txt');
    await writeFile(secret, 'TOKEN=hunter2');
    const repo = join(ws, 'repo');
    await mkdir(repo);
    await symlink(secret, join(repo, NOTES_FILE));
    const taken = await takeNotes(repo, 1024);
    expect(taken.kind).toBe('refused');
    expect(JSON.stringify(taken)).not.toContain('hunter2');
    expect(await readFile(secret, 'utf8')).toBe('TOKEN=hunter2');
    await expect(readFile(join(repo, NOTES_FILE))).rejects.toThrow();
  });

  it('refuses a directory in its place', async () => {
    await mkdir(join(ws, NOTES_FILE));
    expect((await takeNotes(ws, 1024)).kind).toBe('refused');
  });

  it('reads at most max bytes, cut at a whole character, whatever the bytes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 300 }),
        fc.string({ unit: 'grapheme', maxLength: 100 }),
        fc.integer({ min: 1, max: 200 }),
        async (raw, text, max) => {
          for (const content of [Buffer.from(raw), Buffer.from(text)]) {
            await writeFile(join(ws, NOTES_FILE), content);
            const taken = await takeNotes(ws, max);
            if (taken.kind !== 'notes') throw new Error(`unexpected ${taken.kind}`);
            expect(Buffer.byteLength(taken.text)).toBeLessThanOrEqual(max);
            if (content.length > max) expect(taken.cut).toBe(true);
            if (!taken.cut) expect(taken.text).toBe(content.toString('utf8'));
            if (Buffer.from(text).equals(content)) expect(text.startsWith(taken.text)).toBe(true);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
