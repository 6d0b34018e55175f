import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { WorkspaceProvider } from '../../ports/workspace.ts';

/** Jobs without a repository work in a fresh empty directory per attempt. */
export function createEmptyWorkspace(): WorkspaceProvider {
  return {
    async prepare(_job, _attempt, attemptDir) {
      const dir = join(attemptDir, 'workspace');
      await mkdir(dir, { recursive: true });
      return { dir };
    },
  };
}
