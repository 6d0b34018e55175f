/** One container's log (stdout and stderr interleaved as they arrive), readable while it grows. */
export class LogBuffer {
  text = '';
  ended = false;
  private readonly listeners = new Set<() => void>();

  private readonly changed: () => void;

  constructor(changed: () => void) {
    this.changed = changed;
  }

  append(chunk: string): void {
    this.text += chunk;
    this.notify();
  }

  end(): void {
    this.ended = true;
    this.notify();
  }

  /** Calls `listener` on every append and at the end; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
    this.changed();
  }
}
