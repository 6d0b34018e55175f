/**
 * Which deliveries a job's change causes: the status comment and labels on the issue it came from,
 * a chat message per chat, a signed webhook. The store runs this inside the transaction that
 * changes the job, so a change and what it must tell the world are stored together or not at all.
 */
import type { JobStatus } from '../domain/job.ts';
import type { JobChange, OutboxItem, OutboxRoute } from '../ports/outbox.ts';

/** The job events people subscribe to. */
export type NotifyEvent = 'queued' | 'started' | 'retrying' | 'finished';

export interface RouteNotifier {
  /** The delivery's sink: `telegram:<name>` or `webhook:<name>`. */
  sink: string;
  events: readonly NotifyEvent[];
  /** Telegram: the chats told about every job (jobs filed from chat are told their own chat too);
   *  absent for a webhook. */
  chats?: readonly number[];
  /** Telegram: the notifier's name, to match a job's origin. */
  name?: string;
}

export function notifyEventOf(from: JobStatus | null, to: JobStatus): NotifyEvent | null {
  if (to === 'PENDING') return from === 'RUNNING' ? 'retrying' : 'queued';
  if (to === 'RUNNING') return 'started';
  return from === to ? null : 'finished';
}

export const ISSUE_SINK = 'issue';

export function createOutboxRoute(notifiers: readonly RouteNotifier[]): OutboxRoute {
  return ({ job, from, to }: JobChange): OutboxItem[] => {
    const event = notifyEventOf(from, to);
    if (event === null) return [];
    const items: OutboxItem[] = [];
    // The issue's comment and labels follow every change of its job.
    if (job.origin?.kind === 'issue')
      items.push({ sink: ISSUE_SINK, event, job_id: job.id, payload: { status: to } });
    for (const notifier of notifiers) {
      const fromHere =
        job.origin?.kind === 'telegram' && notifier.chats && job.origin.notifier === notifier.name;
      // A chat that filed the job hears when it finishes, whatever the notifier's events.
      const wanted = notifier.events.includes(event) || (fromHere && event === 'finished');
      if (!wanted) continue;
      if (!notifier.chats) {
        items.push({ sink: notifier.sink, event, job_id: job.id, payload: { status: to } });
        continue;
      }
      const chats = new Set(notifier.events.includes(event) ? notifier.chats : []);
      if (fromHere && job.origin?.kind === 'telegram') chats.add(job.origin.chat_id);
      // One delivery per chat, so a chat that is down never makes another hear twice.
      for (const chat_id of chats)
        items.push({
          sink: notifier.sink,
          event,
          job_id: job.id,
          payload: { chat_id, status: to },
        });
    }
    return items;
  };
}
