// Where forge-spawn is: built from native/forge-spawn.c by `npm ci` (native/build.sh), or not at
// all on a machine without a C compiler, where Forge spawns through Node instead.
import { accessSync, constants } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const SPAWN_HELPER_PATH = fileURLToPath(
  new URL('../../../../native/build/forge-spawn', import.meta.url),
);

export type HelperBinary = { ok: true; path: string } | { ok: false; reason: string };

export function findSpawnHelper(path = SPAWN_HELPER_PATH): HelperBinary {
  try {
    accessSync(path, constants.X_OK);
    return { ok: true, path };
  } catch {
    return {
      ok: false,
      reason: `${path} is not built (it needs a C compiler when 'npm ci' runs: install one, e.g. gcc, and run 'npm rebuild' or 'sh native/build.sh')`,
    };
  }
}
