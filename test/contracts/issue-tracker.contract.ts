/**
 * What every IssueTracker (Forgejo/Gitea, GitHub) must do against its simulated forge: list the
 * open issues carrying a label across every page, since a time, without pull requests and even
 * when the forge ignores the filter; read, post and edit comments; move Forge's labels without
 * touching anyone else's; close and reopen; say what a person may do; and report failures with
 * the codes intake relies on (retry `unavailable`, stop on the rest).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { IssueTracker, RepoPermission } from '../../src/ports/issue-tracker.ts';
import { rejection } from './git-host.contract.ts';

export interface IssueTrackerFixture {
  /** The adapter against the simulated forge, with the right token unless another is given. */
  tracker(token?: string): IssueTracker;
  /** The adapter pointed at an address where nothing listens. */
  unreachable(): IssueTracker;
  /** The most issues the simulated forge returns in one page. */
  pageSize: number;
  /** A person opens an issue on CONTRACT_REPO; returns its number. */
  createIssue(issue: {
    title: string;
    body?: string;
    author?: string;
    labels?: string[];
    at?: string;
  }): Promise<number>;
  /** A pull request on CONTRACT_REPO carrying `labels` (head branch and body when given);
   *  returns its number. */
  createPull(labels: string[], pull?: { head: string; body: string }): Promise<number>;
  setLabels(number: number, labels: string[]): Promise<void>;
  closeIssue(number: number): Promise<void>;
  /** A person comments; returns the comment's id. */
  comment(number: number, body: string, author: string, at?: string): Promise<number>;
  issue(number: number): { labels: string[]; state: 'open' | 'closed' } | null;
  comments(number: number): Array<{ id: number; body: string; author: string }>;
  repoLabels(): Array<{ name: string; color: string }>;
  /** The forge's own permission words, each with what the tracker must report for it. */
  permissions: Array<[native: string, expected: RepoPermission]>;
  setPermission(login: string, native: string): void;
  /** A login the forge marks as a bot (GitHub `x[bot]`, Forgejo/Gitea's Actions account). */
  botLogin: string;
  failNext(status: number, message: string): void;
  /** Requests the tracker made, for counting writes. */
  requests(): Array<{ method: string; path: string }>;
  /** The config key the messages must name, e.g. `forges.work.token`. */
  tokenSetting: string;
  close(): Promise<void>;
}

export const CONTRACT_REPO = 'acme/widgets';
const repo = { owner: 'acme', name: 'widgets' };
const signal = new AbortController().signal;
const QUEUED = 'forge:queued';
const MANAGED = [QUEUED, 'forge:running', 'forge:done'];

export function issueTrackerContract(name: string, make: () => Promise<IssueTrackerFixture>): void {
  describe(`${name}: issue tracker contract`, () => {
    let f: IssueTrackerFixture;
    beforeEach(async () => {
      f = await make();
    });
    afterEach(async () => {
      await f.close();
    });

    it('lists every open issue carrying the label, past the first page, and nothing else', async () => {
      const wanted: number[] = [];
      for (let i = 0; i <= f.pageSize; i++)
        wanted.push(await f.createIssue({ title: `queued ${i}`, labels: ['bug', QUEUED] }));
      await f.createIssue({ title: 'other label', labels: ['bug'] });
      await f.closeIssue(await f.createIssue({ title: 'closed', labels: [QUEUED] }));
      await f.createPull([QUEUED]);

      const listed = await f.tracker().listLabelledIssues(repo, QUEUED, null, signal);

      expect(listed.map((i) => i.number).sort((a, b) => a - b)).toEqual(wanted);
      expect(listed[0]).toMatchObject({ state: 'open', author: { login: 'alice', bot: false } });
      expect(listed[0]?.labels).toEqual(expect.arrayContaining(['bug', QUEUED]));
      expect(listed[0]?.url).toMatch(new RegExp(`/${CONTRACT_REPO}/issues/\\d+$`));
    });

    it('lists only issues updated at or after `since`', async () => {
      await f.createIssue({ title: 'old', labels: [QUEUED], at: '2020-01-01T00:00:00Z' });
      const fresh = await f.createIssue({ title: 'fresh', labels: [QUEUED] });

      const listed = await f
        .tracker()
        .listLabelledIssues(repo, QUEUED, new Date(Date.now() - 60_000).toISOString(), signal);

      expect(listed.map((i) => i.number)).toEqual([fresh]);
    });

    it('lists nothing for a label no issue carries, even where the forge drops the filter', async () => {
      await f.createIssue({ title: 'queued', labels: [QUEUED] });
      expect(await f.tracker().listLabelledIssues(repo, 'no-such-label', null, signal)).toEqual([]);
    });

    it('reads one issue; null for a missing one and for a pull request', async () => {
      const n = await f.createIssue({ title: 'Fix it', body: 'Please.', labels: [QUEUED] });
      const pull = await f.createPull([]);
      const t = f.tracker();

      expect(await t.getIssue(repo, n, signal)).toMatchObject({
        number: n,
        title: 'Fix it',
        body: 'Please.',
        labels: [QUEUED],
        state: 'open',
        author: { login: 'alice', bot: false },
      });
      expect(await t.getIssue(repo, 999, signal)).toBeNull();
      expect(await t.getIssue(repo, pull, signal)).toBeNull();
    });

    it('reads a pull request: its head branch, body, state and page; null for an issue or none', async () => {
      const body = 'Job: https://forge.example/jobs/01J0000000000000000000000A';
      const pull = await f.createPull([], { head: 'forge/01j0000000000000000000000a', body });
      const issue = await f.createIssue({ title: 'not a pull' });
      const t = f.tracker();

      expect(await t.getPull(repo, pull, signal)).toMatchObject({
        number: pull,
        head: 'forge/01j0000000000000000000000a',
        body,
        state: 'open',
      });
      expect((await t.getPull(repo, pull, signal))?.url).toMatch(
        new RegExp(`/${CONTRACT_REPO}/pulls?/${pull}$`),
      );
      expect(await t.getPull(repo, issue, signal)).toBeNull();
      expect(await t.getPull(repo, 999, signal)).toBeNull();
    });

    it('posts and edits comments as its own account and lists them oldest first, since a time', async () => {
      const n = await f.createIssue({ title: 'Fix it' });
      await f.comment(n, 'long ago', 'alice', '2020-01-01T00:00:00Z');
      const since = new Date(Date.now() - 60_000).toISOString();
      const t = f.tracker();
      const id = await t.createComment(repo, n, 'Queued.', signal);
      await f.comment(n, '/forge cancel', 'bob');
      await t.editComment(repo, id, 'Running.', signal);

      const me = await t.self(signal);
      expect(f.comments(n).find((c) => c.id === id)).toMatchObject({
        body: 'Running.',
        author: me.login,
      });
      const listed = await t.listComments(repo, n, since, signal);
      expect(listed.map((c) => [c.body, c.author.login])).toEqual([
        ['Running.', me.login],
        ['/forge cancel', 'bob'],
      ]);
      expect((await t.listComments(repo, n, null, signal)).map((c) => c.body)).toEqual([
        'long ago',
        'Running.',
        '/forge cancel',
      ]);
    });

    it('reports editing a deleted comment as not_found', async () => {
      const err = await rejection(f.tracker().editComment(repo, 987654, 'x', signal));
      expect(err.code).toBe('not_found');
    });

    it('moves its own labels, creates a missing one on the repository and keeps the rest', async () => {
      const n = await f.createIssue({ title: 'Fix it', labels: ['bug', QUEUED] });
      const t = f.tracker();

      await t.setManagedLabels(repo, n, MANAGED, ['forge:running'], signal);
      expect(f.issue(n)?.labels.sort()).toEqual(['bug', 'forge:running']);
      expect(f.repoLabels().filter((l) => l.name === 'forge:running')).toMatchObject([
        { name: 'forge:running', color: expect.stringMatching(/^#?[0-9a-f]{6}$/i) as string },
      ]);

      await f.setLabels(n, ['bug', 'forge:running', 'wontfix']);
      await t.setManagedLabels(repo, n, MANAGED, ['forge:done'], signal);
      expect(f.issue(n)?.labels.sort()).toEqual(['bug', 'forge:done', 'wontfix']);

      await t.setManagedLabels(repo, n, MANAGED, [], signal);
      expect(f.issue(n)?.labels.sort()).toEqual(['bug', 'wontfix']);
      expect(f.repoLabels().filter((l) => l.name === 'forge:running')).toHaveLength(1);
    });

    it("changes an issue's labels with one write, however many labels move", async () => {
      const n = await f.createIssue({ title: 'Fix it', labels: [QUEUED, 'forge:done'] });
      const before = f.requests().length;
      await f.tracker().setManagedLabels(repo, n, MANAGED, ['forge:running'], signal);
      const writes = f
        .requests()
        .slice(before)
        .filter((r) => r.method !== 'GET' && /\/issues\/\d+\/labels/.test(r.path));
      expect(writes).toHaveLength(1);
      expect(f.issue(n)?.labels).toEqual(['forge:running']);
    });

    it('changes nothing when the labels are already as wanted', async () => {
      const n = await f.createIssue({ title: 'Fix it', labels: ['bug', 'forge:running'] });
      const before = f.requests().length;
      await f.tracker().setManagedLabels(repo, n, MANAGED, ['forge:running'], signal);
      expect(
        f
          .requests()
          .slice(before)
          .map((r) => r.method),
      ).toEqual(['GET']);
    });

    it('closes and reopens an issue', async () => {
      const n = await f.createIssue({ title: 'Fix it' });
      const t = f.tracker();
      await t.setIssueState(repo, n, 'closed', signal);
      expect(f.issue(n)?.state).toBe('closed');
      await t.setIssueState(repo, n, 'open', signal);
      expect(f.issue(n)?.state).toBe('open');
    });

    it("reports a person's permission, and none for a stranger", async () => {
      const t = f.tracker();
      for (const [native, expected] of f.permissions) {
        f.setPermission(`user-${native}`, native);
        expect(await t.permission(repo, `user-${native}`, signal)).toBe(expected);
      }
      await f.createIssue({ title: 'hello', author: 'carol' });
      expect(await t.permission(repo, 'carol', signal)).toBe('none');
      expect(await t.permission(repo, 'nobody-at-all', signal)).toBe('none');
    });

    it('reports a token that may not read permissions as forbidden, naming the setting', async () => {
      f.failNext(403, 'Only admins can query all permissions');
      const err = await rejection(f.tracker().permission(repo, 'bob', signal));
      expect(err.code).toBe('forbidden');
      expect(err.message).toContain(f.tokenSetting);
    });

    it("names the token's own account, and marks the forge's bots", async () => {
      const t = f.tracker();
      expect(await t.self(signal)).toEqual({ login: 'forge-bot', bot: false });
      const n = await f.createIssue({ title: 'automated', author: f.botLogin });
      expect((await t.getIssue(repo, n, signal))?.author).toEqual({
        login: f.botLogin,
        bot: true,
      });
    });

    it('reports a 5xx as unavailable, so the caller retries', async () => {
      f.failNext(503, 'Service Unavailable');
      const err = await rejection(f.tracker().listLabelledIssues(repo, QUEUED, null, signal));
      expect(err.code).toBe('unavailable');
      expect(err.message).toContain('503');
    });

    it('reports an unreachable forge as unavailable', async () => {
      const err = await rejection(f.unreachable().self(signal));
      expect(err.code).toBe('unavailable');
    });

    it('reports a rejected token as unauthorized, naming the setting and never the token', async () => {
      const err = await rejection(
        f.tracker('wrong-token-value-123').createComment(repo, 1, 'x', signal),
      );
      expect(err.code).toBe('unauthorized');
      expect(err.message).toContain(f.tokenSetting);
      expect(err.message).not.toContain('wrong-token-value-123');
    });

    it('reports a missing repository as not_found, naming it', async () => {
      const err = await rejection(
        f.tracker().listLabelledIssues({ owner: 'acme', name: 'missing' }, QUEUED, null, signal),
      );
      expect(err.code).toBe('not_found');
      expect(err.message).toContain('acme/missing');
    });

    it('rejects with the abort reason when the caller aborts', async () => {
      const controller = new AbortController();
      controller.abort(new Error('job cancelled'));
      await expect(f.tracker().self(controller.signal)).rejects.toThrow('job cancelled');
    });
  });
}
