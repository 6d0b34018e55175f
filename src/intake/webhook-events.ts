/**
 * What a forge's webhook delivery means for issue intake, in one shape for Forgejo, Gitea and
 * GitHub. The body comes from the network: it is validated, and anything unexpected, whatever its
 * shape, is `ignored` with a reason, never an exception.
 *
 * - `labels`: an issue's labels may have changed. Forgejo/Gitea send `issues` with
 *   `label_updated`/`label_cleared` (X-*-Event-Type `issue_label`); GitHub one `labeled` or
 *   `unlabeled` per label. Either way `issue.labels` is the whole set after the change. An issue
 *   `opened` with labels counts too (Forgejo/Gitea send no label event for those).
 * - `comment`: a new comment on an issue (`issue_comment` / `created`).
 * - `closed` / `reopened`: the issue's state changed.
 * - `pull_comment` / `pull_review`: feedback on a pull request (see pull-events.ts).
 * Other pull request events, edits, deletions and other events are `ignored`.
 *
 * Bots follow the issue trackers' rule: GitHub `type: "Bot"` or a `[bot]` login; Forgejo/Gitea's
 * user object has no account type, so only their built-in Actions account (id -2) is a bot.
 */
import { z } from 'zod';
import type { ForgeUser, IssueComment, TrackedIssue } from '../ports/issue-tracker.ts';
import type { ForgeKind } from './webhook-signature.ts';
import {
  parsePullComment,
  parseReview,
  problem,
  toUser,
  userSchema,
  type PullEvent,
} from './pull-events.ts';

interface Delivered {
  /** The forge's delivery id ('' when the header is missing). */
  delivery_id: string;
  /** owner/name */
  repo: string;
  issue: TrackedIssue;
  sender: ForgeUser;
}

export type WebhookEvent =
  | (Delivered & { type: 'labels'; action: string })
  | (Delivered & { type: 'comment'; comment: IssueComment })
  | (Delivered & { type: 'closed' | 'reopened' })
  | PullEvent
  | { type: 'ignored'; delivery_id: string; reason: string };

export interface HeaderSource {
  get(name: string): string | null | undefined;
}

/** Actions that may change an issue's labels, by forge family. */
const LABEL_ACTIONS = new Set(['label_updated', 'label_cleared', 'labeled', 'unlabeled', 'opened']);
const user = userSchema;
const issue = z.object({
  number: z.number().int().positive(),
  title: z.string(),
  body: z.string().nullish(),
  user,
  html_url: z.string(),
  state: z.enum(['open', 'closed']),
  labels: z.array(z.object({ name: z.string() })).nullish(),
  updated_at: z.string(),
  pull_request: z.unknown().optional(),
});
const envelope = z.object({
  action: z.string(),
  issue,
  repository: z.object({ full_name: z.string().regex(/^[^/\s]+\/[^/\s]+$/) }),
  sender: user,
  is_pull: z.boolean().optional(),
});
const comment = z.object({
  id: z.number().int(),
  body: z.string().nullish(),
  user,
  created_at: z.string(),
});

export function parseWebhook(kind: ForgeKind, headers: HeaderSource, body: unknown): WebhookEvent {
  try {
    return parse(kind, headers, body);
  } catch (err) {
    // Nothing above should throw; a body built to make it (a getter, a proxy) is still only ignored.
    return {
      type: 'ignored',
      delivery_id: '',
      reason: `unreadable delivery: ${err instanceof Error ? err.message : 'error'}`,
    };
  }
}

function parse(kind: ForgeKind, headers: HeaderSource, body: unknown): WebhookEvent {
  const delivery_id = header(headers, kind, 'delivery');
  const event = header(headers, kind, 'event');
  const ignored = (reason: string): WebhookEvent => ({ type: 'ignored', delivery_id, reason });
  const review = parseReview(kind, event, delivery_id, body);
  if (review) return 'ignored' in review ? ignored(review.ignored) : review;
  if (event !== 'issues' && event !== 'issue_comment')
    return ignored(event ? `event "${event}" is not about issues` : 'no event header');

  const parsed = envelope.safeParse(body);
  if (!parsed.success)
    return ignored(`not an issue event Forge understands: ${problem(parsed.error)}`);
  const { action, repository, sender, is_pull } = parsed.data;
  if (parsed.data.issue.pull_request != null || is_pull === true) {
    if (event !== 'issue_comment') return ignored('the event is about a pull request');
    const pull = parsePullComment(kind, delivery_id, body);
    return 'ignored' in pull ? ignored(pull.ignored) : pull;
  }
  const base: Delivered = {
    delivery_id,
    repo: repository.full_name,
    issue: toIssue(kind, parsed.data.issue),
    sender: toUser(kind, sender),
  };

  if (event === 'issue_comment') {
    if (action !== 'created') return ignored(`comment action "${action}" needs nothing`);
    const c = comment.safeParse((body as { comment?: unknown }).comment);
    if (!c.success) return ignored(`the comment is malformed: ${problem(c.error)}`);
    const { id, body: text, user: author, created_at } = c.data;
    return {
      ...base,
      type: 'comment',
      comment: { id, body: text ?? '', author: toUser(kind, author), created_at },
    };
  }
  if (LABEL_ACTIONS.has(action)) return { ...base, type: 'labels', action };
  if (action === 'closed' || action === 'reopened') return { ...base, type: action };
  return ignored(`issue action "${action}" needs nothing`);
}

/** The forge's own header (Forgejo also sends Gitea's names, which older setups may rely on). */
function header(headers: HeaderSource, kind: ForgeKind, what: 'event' | 'delivery'): string {
  const names =
    kind === 'github'
      ? [`x-github-${what}`]
      : kind === 'forgejo'
        ? [`x-forgejo-${what}`, `x-gitea-${what}`]
        : [`x-gitea-${what}`];
  for (const name of names) {
    const value = headers.get(name);
    if (typeof value === 'string' && value.trim()) return value.trim().slice(0, 200);
  }
  return '';
}

function toIssue(kind: ForgeKind, i: z.infer<typeof issue>): TrackedIssue {
  return {
    number: i.number,
    title: i.title,
    body: i.body ?? '',
    labels: (i.labels ?? []).map((l) => l.name),
    state: i.state,
    author: toUser(kind, i.user),
    url: i.html_url,
    updated_at: i.updated_at,
  };
}
