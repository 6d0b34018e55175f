/**
 * The small files Forge prepared for an attempt in its private directories (the agent's config,
 * its home, the prompt), collected for the worker's spec with paths relative to the attempt
 * directory. Symbolic links and special files are not followed or sent; a total over the limit
 * is refused (a session restored into home can be large: that belongs in the workspace bundle).
 */
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { ForgeError } from '../../../domain/errors.ts';
import type { AttemptSpec } from './protocol.ts';

export const MAX_ATTEMPT_FILES_BYTES = 32 * 1024 * 1024;

export async function collectAttemptFiles(
  root: string,
  dirs: string[],
  limit = MAX_ATTEMPT_FILES_BYTES,
  /** Single files to send as well (regular files only; a missing one is skipped). */
  single: string[] = [],
): Promise<Pick<AttemptSpec, 'dirs' | 'files'>> {
  const out: Pick<AttemptSpec, 'dirs' | 'files'> = { dirs: [], files: [] };
  let total = 0;
  const walk = async (dir: string): Promise<void> => {
    const info = await lstat(dir).catch(() => null);
    if (!info?.isDirectory()) return;
    out.dirs.push({ path: relative(root, dir), mode: info.mode & 0o7777 });
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) await add(path);
    }
  };
  const add = async (path: string): Promise<void> => {
    const file = await lstat(path);
    total += file.size;
    if (total > limit)
      throw new ForgeError(
        'unavailable',
        `the files Forge prepared for the attempt under ${root} are over ${limit / 1024 / 1024} MiB, more than a worker is sent; check what the agent's configuration puts in its home`,
      );
    out.files.push({
      path: relative(root, path),
      mode: file.mode & 0o7777,
      content_base64: (await readFile(path)).toString('base64'),
    });
  };
  for (const dir of dirs) await walk(dir);
  for (const path of single) if ((await lstat(path).catch(() => null))?.isFile()) await add(path);
  return out;
}
