/** Part of the composition root: one API client per configured forge. */
import { createGiteaHost } from './adapters/git-hosts/gitea-host.ts';
import { createGitHubHost } from './adapters/git-hosts/github-host.ts';
import type { ForgeConfig } from './config.ts';
import type { GitHost } from './ports/git-host.ts';

export function composeGitHosts(config: ForgeConfig): Map<string, GitHost> {
  const hosts = new Map<string, GitHost>();
  for (const [name, forge] of Object.entries(config.forges)) {
    hosts.set(
      name,
      forge.kind === 'github'
        ? createGitHubHost({
            name,
            token: forge.token,
            webUrl: forge.url,
            ...(forge.api_url ? { url: forge.api_url } : {}),
          })
        : createGiteaHost({ name, kind: forge.kind, url: forge.url, token: forge.token }),
    );
  }
  return hosts;
}
