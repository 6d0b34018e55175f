/**
 * What a forge's webhook delivery says about feedback on a pull request, the half of
 * webhook-events.ts that follow-ups read:
 *
 * - `pull_comment`: a new comment in a pull request's conversation. Every forge sends it as
 *   `issue_comment` (a pull request is an issue there); GitHub marks the issue with
 *   `pull_request`, Forgejo/Gitea set `is_pull: true`.
 * - `pull_review`: a submitted review. GitHub: `pull_request_review` / `submitted` with
 *   `review.{id, state, body, user}`. Forgejo/Gitea: the event names the decision
 *   (`pull_request_rejected` for changes requested, `pull_request_comment`,
 *   `pull_request_approved`), action `reviewed`, `review.{type, content}`, the reviewer is the
 *   sender, and there is no review id: the delivery id stands for it (a redelivery keeps it).
 *
 * Like the rest of the parser, a body of any shape is `ignored` with a reason, never thrown on.
 */
import { z } from 'zod';
import type { ForgeUser, IssueComment } from '../ports/issue-tracker.ts';
import type { ForgeKind } from './webhook-signature.ts';

export type ReviewState = 'approved' | 'changes_requested' | 'commented';

interface PullDelivered {
  delivery_id: string;
  /** owner/name of the pull request's repository. */
  repo: string;
  /** The pull request's number. */
  number: number;
  sender: ForgeUser;
}

export type PullEvent =
  | (PullDelivered & { type: 'pull_comment'; comment: IssueComment })
  | (PullDelivered & {
      type: 'pull_review';
      review: {
        /** What identifies the review for "at most one job": `review:<id>` (GitHub) or
         *  `delivery:<id>` (Forgejo/Gitea, which send no review id). */
        key: string;
        state: ReviewState;
        body: string;
        author: ForgeUser;
      };
    });

type Parsed = PullEvent | { ignored: string };

/** Forgejo/Gitea's review events, by their X-*-Event name. */
export const GITEA_REVIEW_EVENTS: Record<string, ReviewState> = {
  pull_request_rejected: 'changes_requested',
  pull_request_comment: 'commented',
  pull_request_approved: 'approved',
};
const ACTIONS_USER_ID = -2;

/** A user object as every forge sends it. */
export const userSchema = z.object({
  login: z.string().min(1),
  id: z.number().optional(),
  type: z.string().optional(),
});
const user = userSchema;
const repository = z.object({ full_name: z.string().regex(/^[^/\s]+\/[^/\s]+$/) });
const number = z.number().int().positive();

const githubReview = z.object({
  action: z.string(),
  review: z.object({
    id: z.number().int(),
    state: z.string(),
    body: z.string().nullish(),
    user,
  }),
  pull_request: z.object({ number }),
  repository,
  sender: user,
});
const giteaReview = z.object({
  action: z.string(),
  number: number.optional(),
  pull_request: z.object({ number }),
  review: z.object({ type: z.string().optional(), content: z.string().nullish() }),
  repository,
  sender: user,
});
const pullComment = z.object({
  action: z.string(),
  issue: z.object({ number }),
  comment: z.object({
    id: z.number().int(),
    body: z.string().nullish(),
    user,
    created_at: z.string(),
  }),
  repository,
  sender: user,
});

/** A comment on a pull request's conversation (the caller saw `issue_comment` about a PR). */
export function parsePullComment(kind: ForgeKind, delivery_id: string, body: unknown): Parsed {
  const parsed = pullComment.safeParse(body);
  if (!parsed.success)
    return { ignored: `the pull request comment is malformed: ${problem(parsed.error)}` };
  const { action, issue, comment, repository: repo, sender } = parsed.data;
  if (action !== 'created') return { ignored: `comment action "${action}" needs nothing` };
  return {
    type: 'pull_comment',
    delivery_id,
    repo: repo.full_name,
    number: issue.number,
    sender: toUser(kind, sender),
    comment: {
      id: comment.id,
      body: comment.body ?? '',
      author: toUser(kind, comment.user),
      created_at: comment.created_at,
    },
  };
}

/** A review, for an event named `event`; null when the event is no review event. */
export function parseReview(
  kind: ForgeKind,
  event: string,
  delivery_id: string,
  body: unknown,
): Parsed | null {
  if (kind === 'github') {
    if (event !== 'pull_request_review') return null;
    const parsed = githubReview.safeParse(body);
    if (!parsed.success) return { ignored: `the review is malformed: ${problem(parsed.error)}` };
    const { action, review, pull_request, repository: repo, sender } = parsed.data;
    if (action !== 'submitted') return { ignored: `review action "${action}" needs nothing` };
    const state = review.state.toLowerCase();
    if (state !== 'approved' && state !== 'changes_requested' && state !== 'commented')
      return { ignored: `review state "${review.state.slice(0, 40)}" needs nothing` };
    return {
      type: 'pull_review',
      delivery_id,
      repo: repo.full_name,
      number: pull_request.number,
      sender: toUser(kind, sender),
      review: {
        key: `review:${review.id}`,
        state,
        body: review.body ?? '',
        author: toUser(kind, review.user),
      },
    };
  }
  const state = Object.hasOwn(GITEA_REVIEW_EVENTS, event) ? GITEA_REVIEW_EVENTS[event] : undefined;
  if (!state) return null;
  const parsed = giteaReview.safeParse(body);
  if (!parsed.success) return { ignored: `the review is malformed: ${problem(parsed.error)}` };
  const { action, pull_request, review, repository: repo, sender } = parsed.data;
  if (action !== 'reviewed') return { ignored: `review action "${action}" needs nothing` };
  // Without a review id the delivery id is what makes a redelivery recognisable.
  if (!delivery_id) return { ignored: 'a review without a delivery id cannot be acted on once' };
  const reviewer = toUser(kind, sender);
  return {
    type: 'pull_review',
    delivery_id,
    repo: repo.full_name,
    number: pull_request.number,
    sender: reviewer,
    review: { key: `delivery:${delivery_id}`, state, body: review.content ?? '', author: reviewer },
  };
}

/** Bots follow the issue trackers' rule: GitHub `type: "Bot"` or a `[bot]` login; on
 *  Forgejo/Gitea only the built-in Actions account (id -2). */
export function toUser(kind: ForgeKind, u: z.infer<typeof userSchema>): ForgeUser {
  const bot =
    kind === 'github' ? u.type === 'Bot' || u.login.endsWith('[bot]') : u.id === ACTIONS_USER_ID;
  return { login: u.login, bot };
}

export function problem(error: z.ZodError): string {
  const first = error.issues[0];
  return first ? `${first.path.join('.') || 'body'}: ${first.message}` : 'invalid';
}

const storedUser = z.object({ login: z.string().min(1), bot: z.boolean() });
const storedBase = {
  delivery_id: z.string(),
  repo: z.string().regex(/^[^/\s]+\/[^/\s]+$/),
  number,
  sender: storedUser,
};
const stored = z.discriminatedUnion('type', [
  z.object({
    ...storedBase,
    type: z.literal('pull_comment'),
    comment: z.object({
      id: z.number().int(),
      body: z.string(),
      author: storedUser,
      created_at: z.string(),
    }),
  }),
  z.object({
    ...storedBase,
    type: z.literal('pull_review'),
    review: z.object({
      key: z.string().min(1),
      state: z.enum(['approved', 'changes_requested', 'commented']),
      body: z.string(),
      author: storedUser,
    }),
  }),
]);

/** A pull request event as the webhook receiver stored it in the outbox; null when the payload
 *  is none (another event, or one stored by an older Forge). */
export function storedPullEvent(payload: Record<string, unknown>): PullEvent | null {
  const parsed = stored.safeParse(payload);
  return parsed.success ? parsed.data : null;
}
