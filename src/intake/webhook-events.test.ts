import fc from 'fast-check';
import { createServer } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeForgejo, type FakeForgejo } from '../../test/support/fake-forgejo.ts';
import { startFakeGitHub, type FakeGitHub } from '../../test/support/fake-github.ts';
import type { Delivery } from '../../test/support/fake-forge-issues.ts';
import { listenOnLoopback } from '../../test/support/loopback.ts';
import { parseWebhook, type WebhookEvent } from './webhook-events.ts';
import { SIGNATURE_HEADER, validSignature, type ForgeKind } from './webhook-signature.ts';

const REPO = 'acme/widgets';
const KINDS: ForgeKind[] = ['forgejo', 'gitea', 'github'];

/** The deliveries a real forge of `kind` would send, recorded by the fake and never sent. */
async function startFake(kind: ForgeKind): Promise<FakeForgejo | FakeGitHub> {
  const fake =
    kind === 'github'
      ? await startFakeGitHub({ token: 't', repos: [REPO] })
      : await startFakeForgejo({ kind, token: 't', repos: [REPO] });
  fake.addWebhook({ repo: REPO, url: 'http://127.0.0.1:9/hooks', secret: 's' });
  fake.dropDeliveries(true);
  return fake;
}

function parsed(kind: ForgeKind, d: Delivery): WebhookEvent {
  const headers = new Headers(d.headers);
  return parseWebhook(kind, headers, JSON.parse(d.body));
}

describe.each(KINDS)('%s webhooks', (kind) => {
  let fake: FakeForgejo | FakeGitHub;
  beforeEach(async () => {
    fake = await startFake(kind);
  });
  afterEach(async () => {
    await fake.close();
  });

  it('an issue opened with the queue label is a label event with the whole set', async () => {
    const { deliveries } = await fake.createIssue({
      repo: REPO,
      title: 'Fix it',
      body: 'Please.',
      author: 'alice',
      labels: ['bug', 'forge:queued'],
    });
    const events = deliveries.map((d) => parsed(kind, d));
    for (const event of events)
      expect(event).toMatchObject({
        type: 'labels',
        repo: REPO,
        issue: { number: 1, title: 'Fix it', body: 'Please.', state: 'open' },
        sender: { login: 'alice', bot: false },
      });
    expect(events.at(-1)).toMatchObject({ issue: { labels: ['bug', 'forge:queued'] } });
    expect(events[0]).toMatchObject({ action: 'opened', delivery_id: deliveries[0]?.id });
  });

  it('a label change carries the labels after it, and who made it', async () => {
    const { number } = await fake.createIssue({
      repo: REPO,
      title: 't',
      body: '',
      author: 'alice',
    });
    const added = await fake.setLabels(REPO, number, ['forge:queued'], 'bob');
    const cleared = await fake.setLabels(REPO, number, [], 'bob');

    expect(parsed(kind, added.at(-1)!)).toMatchObject({
      type: 'labels',
      action: kind === 'github' ? 'labeled' : 'label_updated',
      issue: { labels: ['forge:queued'], author: { login: 'alice' } },
      sender: { login: 'bob', bot: false },
    });
    expect(parsed(kind, cleared.at(-1)!)).toMatchObject({
      type: 'labels',
      action: kind === 'github' ? 'unlabeled' : 'label_cleared',
      issue: { labels: [] },
    });
  });

  it('a new comment is a comment event; an edit of one is ignored', async () => {
    const { number } = await fake.createIssue({
      repo: REPO,
      title: 't',
      body: '',
      author: 'alice',
    });
    const { id, deliveries } = await fake.comment(REPO, number, '/forge retry', 'bob');
    expect(parsed(kind, deliveries[0]!)).toMatchObject({
      type: 'comment',
      issue: { number },
      comment: { id, body: '/forge retry', author: { login: 'bob', bot: false } },
      sender: { login: 'bob' },
    });
    const edit = { ...JSON.parse(deliveries[0]!.body), action: 'edited' } as unknown;
    expect(parseWebhook(kind, new Headers(deliveries[0]!.headers), edit).type).toBe('ignored');
  });

  it('closing and reopening are their own events', async () => {
    const { number } = await fake.createIssue({
      repo: REPO,
      title: 't',
      body: '',
      author: 'alice',
    });
    const [closed] = await fake.setState(REPO, number, 'closed', 'bob');
    const [reopened] = await fake.setState(REPO, number, 'open', 'bob');
    expect(parsed(kind, closed!)).toMatchObject({ type: 'closed', issue: { state: 'closed' } });
    expect(parsed(kind, reopened!)).toMatchObject({ type: 'reopened', issue: { state: 'open' } });
  });

  it('ignores pull requests, their comments, and other events, keeping the delivery id', async () => {
    const { deliveries } = await fake.createIssue({
      repo: REPO,
      title: 't',
      body: '',
      author: 'a',
    });
    const d = deliveries[0]!;
    const body = JSON.parse(d.body) as { issue: Record<string, unknown> };
    const pr = {
      ...body,
      issue: { ...body.issue, pull_request: { html_url: 'x', merged: false } },
    };
    expect(parseWebhook(kind, new Headers(d.headers), pr)).toMatchObject({
      type: 'ignored',
      delivery_id: d.id,
    });
    const push = new Headers(
      Object.entries(d.headers).map(([k, v]) => [k, k.endsWith('-event') ? 'push' : v]),
    );
    expect(parseWebhook(kind, push, body)).toMatchObject({ type: 'ignored', delivery_id: d.id });
  });

  it("marks the forge's bots as bots", async () => {
    const bot = kind === 'github' ? 'renovate[bot]' : `${kind}-actions`;
    const { number } = await fake.createIssue({
      repo: REPO,
      title: 't',
      body: '',
      author: 'alice',
    });
    const [d] = await fake.setLabels(REPO, number, ['forge:queued'], bot);
    expect(parsed(kind, d!)).toMatchObject({ sender: { login: bot, bot: true } });
  });
});

describe('headers', () => {
  it("reads Forgejo's delivery from Gitea's header names when Forgejo's are missing", () => {
    const headers = new Headers({ 'x-gitea-event': 'issues', 'x-gitea-delivery': 'abc' });
    expect(parseWebhook('forgejo', headers, {})).toMatchObject({
      type: 'ignored',
      delivery_id: 'abc',
    });
  });
});

describe('hostile bodies', () => {
  const headers = (kind: ForgeKind, event: string) =>
    new Headers(
      kind === 'github'
        ? { 'x-github-event': event, 'x-github-delivery': 'd' }
        : { [`x-${kind}-event`]: event, [`x-${kind}-delivery`]: 'd' },
    );

  it('never throws on any JSON body, and anything it accepts is well-formed', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...KINDS),
        fc.constantFrom(
          'issues',
          'issue_comment',
          'pull_request_review',
          'pull_request_rejected',
          'pull_request_comment',
          'pull_request_approved',
          'push',
          '',
        ),
        fc.jsonValue(),
        (kind, event, body) => {
          const out = parseWebhook(kind, headers(kind, event), body);
          if (out.type === 'pull_comment' || out.type === 'pull_review')
            expect(out.number).toBeGreaterThan(0);
          else if (out.type !== 'ignored') expect(typeof out.issue.number).toBe('number');
          else expect(typeof out.reason).toBe('string');
        },
      ),
    );
  });

  it('never throws when any field of a real delivery is replaced by anything', () => {
    const issue = {
      number: 1,
      title: 't',
      body: null,
      user: { id: 1, login: 'a' },
      html_url: 'u',
      state: 'open',
      labels: [{ name: 'x' }],
      updated_at: '2025-01-01T00:00:00Z',
    };
    const real = {
      action: 'created',
      issue,
      comment: { id: 1, body: 'b', user: { login: 'a' }, created_at: 'c' },
      repository: { full_name: 'a/b' },
      sender: { login: 'a' },
    };
    fc.assert(
      fc.property(
        fc.constantFrom(...KINDS),
        fc.constantFrom('issues', 'issue_comment'),
        fc.constantFrom(
          'action',
          'issue',
          'comment',
          'repository',
          'sender',
          'issue.labels',
          'issue.user',
        ),
        fc.anything(),
        (kind, event, field, value) => {
          const body = structuredClone(real) as Record<string, unknown>;
          const [a, b] = field.split('.') as [string, string | undefined];
          if (b) (body[a] as Record<string, unknown>)[b] = value;
          else body[a] = value;
          expect(() => parseWebhook(kind, headers(kind, event), body)).not.toThrow();
        },
      ),
    );
  });
});

describe('fake forge deliveries', () => {
  it.each(KINDS)(
    '%s: signs with the hook secret, redelivers the same id and body, and can drop',
    async (kind) => {
      const received: Array<{ headers: Headers; raw: Buffer }> = [];
      const server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const headers = new Headers();
          for (const [k, v] of Object.entries(req.headers))
            if (typeof v === 'string') headers.set(k, v);
          received.push({ headers, raw: Buffer.concat(chunks) });
          res.writeHead(202).end();
        });
      });
      const listening = await listenOnLoopback(server);
      const fake =
        kind === 'github'
          ? await startFakeGitHub({ token: 't', repos: [REPO] })
          : await startFakeForgejo({ kind, token: 't', repos: [REPO] });
      try {
        fake.addWebhook({ repo: REPO, url: `${listening.url}/hooks/x`, secret: 'whsec-1' });
        const { deliveries } = await fake.createIssue({
          repo: REPO,
          title: 't',
          body: '',
          author: 'alice',
        });
        expect(deliveries.map((d) => d.status)).toEqual([202]);
        const [first] = received;
        const signature = first!.headers.get(SIGNATURE_HEADER[kind]) ?? undefined;
        expect(validSignature(kind, 'whsec-1', first!.raw, signature)).toBe(true);

        const again = await fake.redeliver(deliveries[0]!.id);
        expect(again).toMatchObject({ id: deliveries[0]!.id, status: 202 });
        expect(received[1]!.raw.equals(first!.raw)).toBe(true);

        fake.dropDeliveries(true);
        const dropped = await fake.setLabels(REPO, 1, ['forge:queued'], 'bob');
        expect(dropped.every((d) => d.dropped && d.status === null)).toBe(true);
        expect(received).toHaveLength(2);
      } finally {
        await fake.close();
        await listening.close();
      }
    },
  );
});

describe.each(KINDS)('%s pull request feedback', (kind) => {
  let fake: FakeForgejo | FakeGitHub;
  let pull: number;
  beforeEach(async () => {
    fake = await startFake(kind);
    pull =
      kind === 'github'
        ? (
            (await (
              await fetch(`${fake.url}/repos/${REPO}/pulls`, {
                method: 'POST',
                headers: { authorization: 'token t', 'content-type': 'application/json' },
                body: JSON.stringify({ head: 'forge/x', base: 'main', title: 'pr' }),
              })
            ).json()) as { number: number }
          ).number
        : (fake as FakeForgejo).addPull(REPO, {
            head: 'forge/x',
            base: 'main',
            title: 'pr',
            body: '',
            state: 'open',
          }).number;
  });
  afterEach(async () => {
    await fake.close();
  });

  it('a comment on a pull request is a pull_comment with its number, id, text and author', async () => {
    const { id, deliveries } = await fake.comment(REPO, pull, '/forge fix it', 'bob');
    expect(parsed(kind, deliveries[0]!)).toEqual({
      type: 'pull_comment',
      delivery_id: deliveries[0]!.id,
      repo: REPO,
      number: pull,
      sender: { login: 'bob', bot: false },
      comment: {
        id,
        body: '/forge fix it',
        author: { login: 'bob', bot: false },
        created_at: expect.any(String) as string,
      },
    });
  });

  it.each(['changes_requested', 'commented', 'approved'] as const)(
    'a submitted review (%s) is a pull_review with its decision, text and reviewer',
    async (state) => {
      const { deliveries } = await fake.review(REPO, pull, { state, body: 'do more' }, 'bob');
      const d = deliveries[0]!;
      const event = parsed(kind, d);
      expect(event).toMatchObject({
        type: 'pull_review',
        delivery_id: d.id,
        repo: REPO,
        number: pull,
        review: { state, body: 'do more', author: { login: 'bob', bot: false } },
      });
      // GitHub names the review; Forgejo/Gitea send no id, so the delivery stands for it.
      const key = event.type === 'pull_review' ? event.review.key : '';
      expect(key).toMatch(kind === 'github' ? /^review:\d+$/ : new RegExp(`^delivery:${d.id}$`));
    },
  );
});
