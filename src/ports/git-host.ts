/** Owner and name of a repository on a forge. */
export interface RepoCoordinates {
  owner: string;
  name: string;
}

export interface PullRequestRequest {
  repo: RepoCoordinates;
  /** Branch with the work (Forge's own branch). */
  head: string;
  base: string;
  title: string;
  /** Markdown. */
  body: string;
  draft: boolean;
}

export interface PullRequest {
  number: number;
  /** Web page of the pull request, for people. */
  url: string;
  /** False when an open PR from `head` to `base` existed and was updated instead. */
  created: boolean;
}

/** HTTP basic credentials for git over HTTPS against a forge. Held by the orchestrator only. */
export interface GitCredentials {
  username: string;
  password: string;
}

/**
 * A git hosting service's API (Forgejo, Gitea, GitHub), as far as Forge uses it: opening pull
 * requests. Errors are ForgeError: code 'unavailable' for what a retry may fix (network, 5xx,
 * rate limits), 'invalid_request'/'forbidden'/'not_found'/'unauthorized' for what it will not
 * (the message says what to fix: token scope, repository name…). Aborting `signal` aborts the
 * request.
 */
export interface GitHost {
  readonly kind: 'forgejo' | 'gitea' | 'github';
  /** Opens a PR from `head` to `base`, or updates title and body of the open one. */
  openPullRequest(req: PullRequestRequest, signal: AbortSignal): Promise<PullRequest>;
  /** owner/name for a clone URL on this forge, or null when the URL is not on this forge. */
  repoFor(cloneUrl: string): RepoCoordinates | null;
  /** Credentials for fetching and pushing over HTTPS. */
  gitCredentials(): GitCredentials;
}
