/** Part of the composition root: one API client per configured forge, for pull requests and for
 *  issues. */
import { createGiteaHost } from './adapters/git-hosts/gitea-host.ts';
import { createGiteaIssues } from './adapters/git-hosts/gitea-issues.ts';
import { createGitHubHost } from './adapters/git-hosts/github-host.ts';
import { createGitHubIssues } from './adapters/git-hosts/github-issues.ts';
import type { ForgeConfig } from './config.ts';
import type { GitHost } from './ports/git-host.ts';
import type { IssueTracker } from './ports/issue-tracker.ts';

export function composeGitHosts(config: ForgeConfig): Map<string, GitHost> {
  return perForge(config, createGitHubHost, createGiteaHost);
}

/** One issue tracker per configured forge, keyed by its name under `forges:`. */
export function composeIssueTrackers(config: ForgeConfig): Map<string, IssueTracker> {
  return perForge(config, createGitHubIssues, createGiteaIssues);
}

function perForge<T>(
  config: ForgeConfig,
  github: (opts: { name: string; token: string; webUrl: string; url?: string }) => T,
  gitea: (opts: { name: string; kind: 'forgejo' | 'gitea'; url: string; token: string }) => T,
): Map<string, T> {
  const out = new Map<string, T>();
  for (const [name, forge] of Object.entries(config.forges)) {
    out.set(
      name,
      forge.kind === 'github'
        ? github({
            name,
            token: forge.token,
            webUrl: forge.url,
            ...(forge.api_url ? { url: forge.api_url } : {}),
          })
        : gitea({ name, kind: forge.kind, url: forge.url, token: forge.token }),
    );
  }
  return out;
}
