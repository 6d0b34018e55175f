/** Chunks handed from the HTTP routes to the core's reader, once each and in order. */
export class OutputQueue implements AsyncIterable<Buffer> {
  private chunks: Buffer[] = [];
  private ended = false;
  private wake: (() => void) | null = null;
  /** Called with each chunk once the reader has taken it in (asked for the next one): what a
   *  server restarted after this point need not be sent again. */
  private readonly onTaken: (chunk: Buffer) => void;

  constructor(onTaken: (chunk: Buffer) => void = () => {}) {
    this.onTaken = onTaken;
  }

  push(chunk: Buffer): void {
    if (this.ended || chunk.length === 0) return;
    this.chunks.push(chunk);
    this.wake?.();
  }

  end(): void {
    this.ended = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    for (;;) {
      const chunk = this.chunks.shift();
      if (chunk) {
        yield chunk;
        this.onTaken(chunk);
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = null;
    }
  }
}
