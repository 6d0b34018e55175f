import type { Logger } from 'pino';
import type { Failure } from '../domain/failure.ts';
import type { JobStatus } from '../domain/job.ts';

/** Domain events, published as things happen. SSE, metrics and notifiers subscribe. */
export type ForgeEvent =
  | { type: 'job.created'; jobId: string }
  | {
      type: 'job.status';
      jobId: string;
      status: JobStatus;
      attempt: number;
      failure: Failure | null;
    }
  | { type: 'pr.opened'; jobId: string; url: string; number: number }
  | {
      type: 'attempt.output';
      jobId: string;
      attempt: number;
      /** Byte offset in the attempt's log just after these lines: a resume cursor. */
      offset: number;
      /** One or more whole lines as the log holds them, joined by newlines, without the last
       *  one: what one chunk of the agent's output (or one note) added. */
      text: string;
    };

export type Listener = (event: ForgeEvent) => void;

/** A typed, synchronous bus. A listener that throws is logged and never breaks the publisher. */
export class EventBus {
  private readonly listeners = new Set<Listener>();
  private readonly logger: Logger;

  constructor(logger: Logger) {
    this.logger = logger;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  publish(event: ForgeEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.logger.error({ err, event: event.type }, 'event listener failed');
      }
    }
  }
}
