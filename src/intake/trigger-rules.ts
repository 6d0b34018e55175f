/**
 * Who may make an intake source act, one rule for issues and pull requests alike: people listed
 * in `allowed_users`, or (allow: write) anyone who is no bot and may write to the source's
 * repository; never Forge's own account, whose comments name the very commands it reads.
 */
import type { ForgeUser, IssueTracker } from '../ports/issue-tracker.ts';

export interface TriggerPolicy {
  /** owner/name of the source's repository (the one whose write permission counts). */
  repo: string;
  allowed_users: readonly string[];
  allow: 'listed' | 'write';
}

export interface TriggerRules {
  /** Whether `user` is the account of the forge token (Forge itself). */
  isSelf: (user: ForgeUser, signal: AbortSignal) => Promise<boolean>;
  /** Whether `user` may queue, cancel, retry or follow up. */
  mayTrigger: (user: ForgeUser, signal: AbortSignal) => Promise<boolean>;
}

export function createTriggerRules(
  policy: TriggerPolicy,
  tracker: Pick<IssueTracker, 'self' | 'permission'>,
): TriggerRules {
  const [owner, name] = policy.repo.split('/') as [string, string];
  const allowed = new Set(policy.allowed_users.map((u) => u.toLowerCase()));
  let self: ForgeUser | null = null;
  return {
    async isSelf(user, signal) {
      self ??= await tracker.self(signal);
      return user.login.toLowerCase() === self.login.toLowerCase();
    },
    async mayTrigger(user, signal) {
      if (allowed.has(user.login.toLowerCase())) return true;
      if (user.bot || policy.allow !== 'write') return false;
      const permission = await tracker.permission({ owner, name }, user.login, signal);
      return permission === 'write' || permission === 'admin';
    },
  };
}
