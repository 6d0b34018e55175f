/**
 * A comment Forge posts on an issue that has no job to report: why it was held (a directive it
 * cannot honour), why it was refused, or why a command did nothing. Delivered through the outbox
 * like every other comment, so a forge that is down delays it and never loses it.
 */
import type { OutboxItem } from '../ports/outbox.ts';

export type IssueNotice =
  | { kind: 'held'; problems: string[] }
  | { kind: 'refused'; login: string }
  | { kind: 'text'; text: string };

/** The payload of an `issue` delivery with event `notice`. */
export interface NoticePayload {
  source: string;
  number: number;
  notice: IssueNotice;
  /** Managed labels the issue should carry afterwards (null: leave the labels alone). */
  labels: string[] | null;
}

export function noticeItem(
  source: string,
  number: number,
  key: string,
  notice: IssueNotice,
  labels: string[] | null,
): OutboxItem {
  const payload: NoticePayload = { source, number, notice, labels };
  return {
    sink: 'issue',
    event: 'notice',
    job_id: null,
    // One notice per issue state: the poller seeing the same issue again adds nothing.
    key: `${source}:${key}`,
    payload: payload as unknown as Record<string, unknown>,
  };
}

/** Reads a notice payload back; null when it is not one (a delivery from an older Forge). */
export function readNotice(payload: Record<string, unknown>): NoticePayload | null {
  const p = payload as Partial<NoticePayload>;
  if (typeof p.source !== 'string' || typeof p.number !== 'number' || !p.notice) return null;
  return { source: p.source, number: p.number, notice: p.notice, labels: p.labels ?? null };
}
