/**
 * A `forge serve` for the stewards' end-to-end tests: a real git HTTP server's bare repository as
 * `repos.app` (a local path: no forge, no credentials), the given stewards, and an operator and a
 * viewer token (`ops`, `watcher`).
 */
import { join } from 'node:path';
import { startForge, type ForgeProcess } from './forge-server.ts';
import type { GitServer } from './git-http-server.ts';

export const STEWARD_TOKENS = {
  operator: 'stewards-operator-token-0123456789',
  viewer: 'stewards-viewer-token-0123456789',
};

/** A steward of `app` run by the scripted agent, woken only by hand. */
export function handSteward(prompt: string): Record<string, unknown> {
  return { repo: 'app', agent: 'script', triggers: [], prompt };
}

export async function startStewardForge(
  git: GitServer,
  stewards: Record<string, unknown>,
): Promise<ForgeProcess> {
  return startForge({
    config: {
      server: {
        host: '127.0.0.1',
        port: 0,
        tokens: [
          { name: 'ops', token: STEWARD_TOKENS.operator, role: 'operator' },
          { name: 'watcher', token: STEWARD_TOKENS.viewer, role: 'viewer' },
        ],
      },
      forges: {},
      repos: { app: { url: join(git.root, 'app.git'), base_branch: 'main' } },
      stewards,
    },
  });
}
