import { OUTPUT_TAIL_BYTES } from '../domain/job.ts';

/**
 * Keeps the last `limit` bytes of an output stream, cut on a UTF-8 character boundary.
 * `truncated` is true exactly when bytes were dropped.
 */
export class OutputTail {
  private chunks: Buffer[] = [];
  private size = 0;
  private dropped = false;
  private readonly limit: number;

  constructor(limit: number = OUTPUT_TAIL_BYTES) {
    this.limit = limit;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
    if (this.size > this.limit * 2) this.compact();
  }

  get truncated(): boolean {
    return this.dropped || this.size > this.limit;
  }

  /** The tail as text: at most `limit` bytes, never starting inside a multi-byte character. */
  text(): string {
    this.compact();
    return this.chunks[0]?.toString('utf8') ?? '';
  }

  private compact(): void {
    let all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    if (all.length > this.limit) {
      let start = all.length - this.limit;
      // Skip UTF-8 continuation bytes (10xxxxxx) so the tail starts on a character.
      while (start < all.length && (all[start]! & 0xc0) === 0x80) start++;
      all = all.subarray(start);
      this.dropped = true;
    }
    this.chunks = all.length ? [all] : [];
    this.size = all.length;
  }
}
