/**
 * The registry of live remote attempts on this Forge: the worker routes find an attempt by its
 * token here. It holds the worker secret, so every token is checked the same way whichever
 * attempt it names, and a token for an attempt that is not live is told apart from a forged one.
 */
import type { SandboxLabels } from '../../../ports/sandbox.ts';
import { verifyAttemptToken } from './attempt-token.ts';
import type { LiveAttempt } from './live-attempt.ts';
import { createWarmAssignments, isPoolToken, type WarmAssignments } from './warm-assignments.ts';

export type Lookup =
  | { kind: 'live'; attempt: LiveAttempt }
  /** A token this Forge made, for an attempt it no longer runs. */
  | { kind: 'gone'; labels: SandboxLabels }
  | { kind: 'unauthorized' };

export interface RemoteAttempts {
  /** The worker secret tokens are made with (read or created on first use). */
  secret(): Buffer;
  add(attempt: LiveAttempt): void;
  remove(attempt: LiveAttempt): void;
  get(labels: SandboxLabels): LiveAttempt | null;
  /** The attempt a bearer token stands for. */
  lookup(token: string): Lookup;
  /** Attempts offered to warm pods (warm-assignments.ts), and whether a token is the pool's. */
  warm: WarmAssignments;
  isPoolToken(token: string): boolean;
}

const key = (l: SandboxLabels) => `${l.jobId}/${l.attempt}`;

/** `secret` is called once, when a token is first made or checked (a Forge that never runs a
 *  remote attempt never creates one). */
export function createRemoteAttempts(loadSecret: () => Buffer): RemoteAttempts {
  const live = new Map<string, LiveAttempt>();
  let loaded: Buffer | null = null;
  const secret = () => (loaded ??= loadSecret());
  return {
    secret,
    warm: createWarmAssignments(),
    isPoolToken: (token) => isPoolToken(secret(), token),
    add(attempt) {
      live.set(key(attempt.labels), attempt);
    },
    remove(attempt) {
      if (live.get(key(attempt.labels)) === attempt) live.delete(key(attempt.labels));
    },
    get: (labels) => live.get(key(labels)) ?? null,
    lookup(token) {
      const labels = verifyAttemptToken(secret(), token);
      if (!labels) return { kind: 'unauthorized' };
      const attempt = live.get(key(labels));
      return attempt ? { kind: 'live', attempt } : { kind: 'gone', labels };
    },
  };
}
