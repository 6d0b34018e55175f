/**
 * The issue side of the fake forges, shared by the Forgejo/Gitea and GitHub fakes: issues (pull
 * requests are issues too, as on every forge), repository labels, comments, collaborator
 * permissions, and webhooks. Each fake renders this state in its own API's shapes and sends its
 * own webhook payloads; this module holds the state and does the delivering: the raw body signed
 * with the hook's secret, POSTed to the hook's URL, and the status Forge answered recorded.
 *
 * Times are real (whole seconds, as the forges store them), so Forge's poller, which computes its
 * `since` from its own clock, sees them as it would a real forge's; a test that needs an older
 * issue or comment passes `at`.
 */
import { randomUUID } from 'node:crypto';

export interface FakeIssue {
  number: number;
  title: string;
  body: string;
  /** Login of the author. */
  author: string;
  labels: string[];
  state: 'open' | 'closed';
  /** A pull request seen through the issues API. */
  pull: boolean;
  created_at: string;
  updated_at: string;
}
export interface FakeComment {
  id: number;
  issue: number;
  body: string;
  author: string;
  created_at: string;
  updated_at: string;
}
export interface FakeLabel {
  id: number;
  name: string;
  /** Six hex digits, without `#`. */
  color: string;
  description: string;
}
export interface FakeWebhook {
  /** owner/name */
  repo: string;
  url: string;
  secret: string;
}
export interface Delivery {
  /** The forge's delivery id (the same on a redelivery). */
  id: string;
  event: string;
  action: string;
  repo: string;
  /** The status Forge answered; null while in flight or when dropped, 0 when unreachable. */
  status: number | null;
  dropped: boolean;
  headers: Record<string, string>;
  body: string;
}

/** What a reviewer decided, in GitHub's webhook words (each fake sends its own forge's). */
export type ReviewState = 'approved' | 'changes_requested' | 'commented';

interface RepoState {
  next: number;
  issues: FakeIssue[];
  labels: FakeLabel[];
  comments: FakeComment[];
  permissions: Map<string, string>;
}

/** Whole seconds, as Gitea stores times and GitHub shows them. */
export function stamp(at: Date | string = new Date()): string {
  return new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export type IssueBook = ReturnType<typeof createIssueBook>;

export function createIssueBook(repos: readonly string[]) {
  const state = new Map<string, RepoState>(
    repos.map((r) => [
      r,
      { next: 1, issues: [], labels: [], comments: [], permissions: new Map() },
    ]),
  );
  const hooks: FakeWebhook[] = [];
  const deliveries: Delivery[] = [];
  const inFlight = new Set<Promise<unknown>>();
  let nextId = 1;
  let dropping = false;

  const repoOf = (repo: string): RepoState => {
    const s = state.get(repo);
    if (!s) throw new Error(`fake forge: no repository ${repo} (pass it in \`repos\`)`);
    return s;
  };

  async function send(d: Delivery, url: string): Promise<Delivery> {
    try {
      const res = await fetch(url, { method: 'POST', headers: d.headers, body: d.body });
      await res.arrayBuffer();
      d.status = res.status;
    } catch {
      d.status = 0;
    }
    return d;
  }

  return {
    has: (repo: string) => state.has(repo),
    repo: repoOf,
    newId: () => nextId++,
    issue: (repo: string, number: number) =>
      state.get(repo)?.issues.find((i) => i.number === number) ?? null,

    addIssue(
      repo: string,
      fields: Pick<FakeIssue, 'title' | 'body' | 'author'> &
        Partial<Pick<FakeIssue, 'labels' | 'pull' | 'state'>>,
      at?: Date | string,
    ): FakeIssue {
      const s = repoOf(repo);
      const time = stamp(at);
      const issue: FakeIssue = {
        labels: [],
        pull: false,
        state: 'open',
        ...fields,
        number: s.next++,
        created_at: time,
        updated_at: time,
      };
      s.issues.push(issue);
      return issue;
    },

    addComment(repo: string, issue: FakeIssue, body: string, author: string, at?: Date | string) {
      const time = stamp(at);
      const comment: FakeComment = {
        id: nextId++,
        issue: issue.number,
        body,
        author,
        created_at: time,
        updated_at: time,
      };
      repoOf(repo).comments.push(comment);
      issue.updated_at = stamp(at ?? new Date());
      return comment;
    },

    /** The repository's label, created on the way when `create` gives its colour. */
    label(repo: string, name: string, create?: string): FakeLabel | null {
      const s = repoOf(repo);
      const found = s.labels.find((l) => l.name === name);
      if (found || create === undefined) return found ?? null;
      const label = { id: nextId++, name, color: create, description: '' };
      s.labels.push(label);
      return label;
    },

    touch(issue: FakeIssue): void {
      issue.updated_at = stamp();
    },

    hooks,
    deliveries,
    setDropping(on: boolean): void {
      dropping = on;
    },

    /** Sends (or, while dropping, only records) one delivery to every hook on `repo`. */
    deliver(
      repo: string,
      event: string,
      action: string,
      render: (hook: FakeWebhook, id: string) => { headers: Record<string, string>; body: string },
    ): Promise<Delivery[]> {
      const sent = hooks
        .filter((h) => h.repo === repo)
        .map((hook) => {
          const id = randomUUID();
          const { headers, body } = render(hook, id);
          const d: Delivery = {
            id,
            event,
            action,
            repo,
            status: null,
            dropped: dropping,
            headers,
            body,
          };
          deliveries.push(d);
          return dropping ? Promise.resolve(d) : send(d, hook.url);
        });
      const all = Promise.all(sent);
      inFlight.add(all);
      void all.finally(() => inFlight.delete(all));
      return all;
    },

    /** The same delivery again: same id, headers and body. */
    async redeliver(id: string): Promise<Delivery> {
      const original = deliveries.find((d) => d.id === id);
      const hook = original && hooks.find((h) => h.repo === original.repo);
      if (!original || !hook) throw new Error(`fake forge: no delivery ${id}`);
      const again: Delivery = { ...original, status: null, dropped: false };
      deliveries.push(again);
      return send(again, hook.url);
    },

    /** Resolves when every delivery started so far has been answered. */
    async idle(): Promise<void> {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
  };
}
