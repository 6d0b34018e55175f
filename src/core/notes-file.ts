/**
 * A steward's notes in its run's workspace: placed as NOTES_FILE before the agent starts, taken
 * back (and removed, so they are never committed) after it exited. The same on every sandbox: a
 * remote worker's result carries the work tree back, the file with it.
 *
 * The workspace is the agent's: the file may have become a symlink to a server file, a directory,
 * a FIFO or gigabytes of binary. Forge reads it only as a regular file, without following links,
 * and at most `maxBytes` (plus one, to tell that it was longer).
 */
import { constants } from 'node:fs';
import { appendFile, lstat, mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** Where the notes are, relative to the workspace root. */
export const NOTES_FILE = '.forge-notes.md';

/** Writes the notes (empty when there are none yet) and keeps the file out of `git add -A`. */
export async function placeNotes(workspace: string, text: string): Promise<void> {
  const path = join(workspace, NOTES_FILE);
  // A repository may hold a link by that name: replace it, never write through it.
  await rm(path, { force: true, recursive: true });
  const file = await open(
    path,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    0o644,
  );
  try {
    await file.writeFile(text);
  } finally {
    await file.close();
  }
  const info = join(workspace, '.git', 'info');
  if ((await lstat(join(workspace, '.git')).catch(() => null))?.isDirectory()) {
    await mkdir(info, { recursive: true });
    await appendFile(join(info, 'exclude'), `\n/${NOTES_FILE}\n`);
  }
}

export type TakenNotes =
  | { kind: 'notes'; text: string; cut: boolean }
  | { kind: 'missing' }
  | { kind: 'refused'; why: string };

/** Reads the agent's notes back and removes the file. Never follows a link, never throws for
 *  what the agent did to the file (it says what it found instead). */
export async function takeNotes(workspace: string, maxBytes: number): Promise<TakenNotes> {
  const path = join(workspace, NOTES_FILE);
  const stat = await lstat(path).catch(() => null);
  if (!stat) return { kind: 'missing' };
  try {
    if (!stat.isFile())
      return {
        kind: 'refused',
        why: `${NOTES_FILE} is not a regular file; the notes were not kept`,
      };
    const file = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      const buffer = Buffer.alloc(maxBytes + 1);
      let length = 0;
      while (length < buffer.length) {
        const { bytesRead } = await file.read(buffer, length, buffer.length - length, length);
        if (bytesRead === 0) break;
        length += bytesRead;
      }
      let text =
        length > maxBytes
          ? utf8Prefix(buffer.subarray(0, maxBytes))
          : buffer.subarray(0, length).toString('utf8');
      // Bytes that are not UTF-8 became U+FFFD (three bytes each): cut again to the cap.
      const decoded = Buffer.from(text);
      if (decoded.length > maxBytes) text = utf8Prefix(decoded.subarray(0, maxBytes));
      return { kind: 'notes', text, cut: length > maxBytes || decoded.length > maxBytes };
    } finally {
      await file.close();
    }
  } catch (err) {
    return { kind: 'refused', why: `${NOTES_FILE} could not be read: ${(err as Error).message}` };
  } finally {
    await rm(path, { force: true, recursive: true }).catch(() => undefined);
  }
}

/** The longest prefix of `bytes` that is whole UTF-8 characters, as text. */
function utf8Prefix(bytes: Buffer): string {
  let end = bytes.length;
  // Step back over an incomplete character at the end (at most 3 continuation bytes).
  for (let back = 0; back < 4 && end - back > 0; back++) {
    const byte = bytes[end - back - 1]!;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: keep looking for the lead
    const need = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    if (need > back + 1) end = end - back - 1;
    break;
  }
  return bytes.subarray(0, end).toString('utf8');
}
