/**
 * What every git host adapter (Forgejo/Gitea, GitHub, …) must do, against its simulated forge:
 * open a pull request, update the open one instead of failing on a second call, and report
 * failures with the error codes finalize relies on (retry `unavailable`, stop on the rest) and
 * messages that name the setting to fix but never the token.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ForgeError } from '../../src/domain/errors.ts';
import type { GitHost, PullRequestRequest } from '../../src/ports/git-host.ts';

export interface GitHostFixture {
  /** The adapter against the simulated forge, with the right token unless another is given. */
  host(token?: string): GitHost;
  /** The adapter pointed at an address where nothing listens. */
  unreachable(): GitHost;
  /** The simulated forge answers the next request with this status and message. */
  failNext(status: number, message: string): void;
  /** Pull requests the simulated forge holds for `owner/name`. */
  pulls(repo: string): Array<{ title: string; body: string }>;
  /** The config key the messages must name, e.g. `forges.work.token`. */
  tokenSetting: string;
  close(): Promise<void>;
}

export const CONTRACT_REPO = 'acme/widgets';
const signal = new AbortController().signal;

export function prRequest(overrides: Partial<PullRequestRequest> = {}): PullRequestRequest {
  return {
    repo: { owner: 'acme', name: 'widgets' },
    head: 'forge/01jab',
    base: 'main',
    title: 'Add a widget',
    body: 'First run.',
    draft: false,
    ...overrides,
  };
}

export async function rejection(promise: Promise<unknown>): Promise<ForgeError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ForgeError);
  return err as ForgeError;
}

export function gitHostContract(name: string, make: () => Promise<GitHostFixture>): void {
  describe(`${name}: git host contract`, () => {
    let f: GitHostFixture;
    beforeEach(async () => {
      f = await make();
    });
    afterEach(async () => {
      await f.close();
    });

    it('opens a pull request and returns its number and web page', async () => {
      const pr = await f.host().openPullRequest(prRequest(), signal);
      expect(pr).toMatchObject({ number: 1, created: true });
      expect(pr.url).toMatch(new RegExp(`/${CONTRACT_REPO}/pulls?/1$`));
      expect(f.pulls(CONTRACT_REPO)).toMatchObject([{ body: 'First run.' }]);
    });

    it('updates the open pull request for the same head and base instead of failing', async () => {
      const first = await f.host().openPullRequest(prRequest(), signal);
      const second = await f
        .host()
        .openPullRequest(prRequest({ title: 'Add a widget (retry)', body: 'Second run.' }), signal);
      expect(second).toEqual({ number: first.number, url: first.url, created: false });
      expect(f.pulls(CONTRACT_REPO)).toHaveLength(1);
      expect(f.pulls(CONTRACT_REPO)[0]?.body).toBe('Second run.');
    });

    it('reports a 5xx as unavailable, so finalize retries it', async () => {
      f.failNext(503, 'Service Unavailable');
      const err = await rejection(f.host().openPullRequest(prRequest(), signal));
      expect(err.code).toBe('unavailable');
      expect(err.message).toContain('503');
    });

    it('reports an unreachable forge as unavailable', async () => {
      const err = await rejection(f.unreachable().openPullRequest(prRequest(), signal));
      expect(err.code).toBe('unavailable');
      expect(err.message).toContain('unreachable');
    });

    it('reports a rejected token as unauthorized, naming the setting and never the token', async () => {
      const err = await rejection(
        f.host('wrong-token-value-123').openPullRequest(prRequest(), signal),
      );
      expect(err.code).toBe('unauthorized');
      expect(err.message).toContain(f.tokenSetting);
      expect(err.message).not.toContain('wrong-token-value-123');
    });

    it('reports a missing repository as not_found, naming it', async () => {
      const err = await rejection(
        f.host().openPullRequest(prRequest({ repo: { owner: 'acme', name: 'missing' } }), signal),
      );
      expect(err.code).toBe('not_found');
      expect(err.message).toContain('acme/missing');
    });

    it('rejects with the abort reason when the caller aborts', async () => {
      const controller = new AbortController();
      controller.abort(new Error('job cancelled'));
      await expect(f.host().openPullRequest(prRequest(), controller.signal)).rejects.toThrow(
        'job cancelled',
      );
    });
  });
}
