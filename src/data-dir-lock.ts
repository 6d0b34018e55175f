import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ForgeError } from './domain/errors.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One server per data dir: SQLite is local, so owning the directory alone lets start-up recover
 * every lease left by an earlier (crashed) server at once instead of waiting for it to expire.
 * Returns a release function.
 */
export function lockDataDir(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, 'server.pid');
  try {
    writeFileSync(path, String(process.pid), { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const pid = Number(readFileSync(path, 'utf8').trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
      throw new ForgeError(
        'conflict',
        `another Forge server (pid ${pid}) is using ${dataDir}; stop it or set data_dir / FORGE_DATA_DIR to another directory`,
      );
    }
    writeFileSync(path, String(process.pid)); // the previous owner died: take over
  }
  return () => rmSync(path, { force: true });
}
