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

  /** Keeps `chunk` (without copying it: its owner must not reuse it). */
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
    return this.bytes().toString('utf8');
  }

  /** The tail's bytes: a suffix of everything pushed, at most `limit` bytes long. */
  bytes(): Buffer {
    this.compact();
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  private compact(): void {
    let all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    if (all.length > this.limit) {
      all = all.subarray(charStartAfter(all, all.length - this.limit));
      this.dropped = true;
    }
    this.chunks = all.length ? [all] : [];
    this.size = all.length;
  }
}

/** `at`, or the start of the next character when `data[at]` continues one (10xxxxxx) that began
 *  before it. Looks at most 3 bytes ahead, as a UTF-8 character is at most 4: in bytes that are
 *  not UTF-8 the tail keeps its full length rather than skipping a run of any size. */
function charStartAfter(data: Buffer, at: number): number {
  for (let i = at; i < at + 4; i++) {
    if (i === data.length) return i; // the last character does not fit: the tail is empty
    if ((data[i]! & 0xc0) !== 0x80) return i;
  }
  return at;
}
