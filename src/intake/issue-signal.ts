/**
 * Turns a webhook event waiting in the outbox back into what the intake acts on. The event was
 * validated when it arrived; this checks its shape again (it was stored, perhaps by an older
 * Forge) and that it is about the source's own repository: a webhook for another repository,
 * signed with the same secret, must not queue work here.
 */
import type { ForgeUser, TrackedIssue } from '../ports/issue-tracker.ts';
import type { IssueSignal } from './issue-intake.ts';

interface StoredIssue {
  number: number;
  title: string;
  body: string;
  author: ForgeUser;
  url: string;
  state: 'open' | 'closed';
  labels: string[];
  updated_at?: string;
}

const isUser = (u: unknown): u is ForgeUser =>
  typeof u === 'object' && u !== null && typeof (u as ForgeUser).login === 'string';

function issueOf(raw: unknown): TrackedIssue | null {
  const i = raw as Partial<StoredIssue> | null;
  if (!i || typeof i.number !== 'number' || !isUser(i.author) || !Array.isArray(i.labels))
    return null;
  return {
    number: i.number,
    title: typeof i.title === 'string' ? i.title : '',
    body: typeof i.body === 'string' ? i.body : '',
    author: i.author,
    url: typeof i.url === 'string' ? i.url : '',
    state: i.state === 'closed' ? 'closed' : 'open',
    labels: i.labels.filter((l): l is string => typeof l === 'string'),
    updated_at: typeof i.updated_at === 'string' ? i.updated_at : '',
  };
}

export function issueSignalOf(payload: Record<string, unknown>, repo: string): IssueSignal | null {
  if (typeof payload.repo !== 'string' || payload.repo.toLowerCase() !== repo.toLowerCase())
    return null;
  const issue = issueOf(payload.issue);
  if (!issue) return null;
  if (payload.type === 'labels')
    return { type: 'labels', issue, sender: isUser(payload.sender) ? payload.sender : null };
  if (payload.type === 'comment') {
    const c = payload.comment as { id?: unknown; body?: unknown; author?: unknown } | null;
    if (!c || typeof c.id !== 'number' || typeof c.body !== 'string' || !isUser(c.author))
      return null;
    return {
      type: 'comment',
      issue,
      comment: { id: c.id, body: c.body, author: c.author, created_at: '' },
    };
  }
  return null;
}
