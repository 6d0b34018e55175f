import type { LogChunk } from '../ports/logs.ts';

/** A line of a log as the live stream sends it, and the byte offset just after it. */
export interface LogLine {
  text: string;
  end: number;
}

/**
 * Cuts a followed log into lines. A line is sent without its newline; one longer than `maxBytes`
 * is sent in pieces of at most that many bytes, cut between characters where the bytes allow, so
 * what is held here never exceeds `maxBytes` plus one chunk. Any bytes are accepted; invalid
 * UTF-8 becomes U+FFFD in the text while the offsets stay the log's own.
 */
export class LineCutter {
  private carry: Buffer = Buffer.alloc(0);
  /** The offset just after the last chunk pushed (and so after the carry). */
  private logEnd = 0;
  private readonly maxBytes: number;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  /** The lines (and pieces of long ones) that `chunk` completes. */
  push(chunk: LogChunk): LogLine[] {
    const buf = this.carry.length ? Buffer.concat([this.carry, chunk.bytes]) : chunk.bytes;
    const base = chunk.end - buf.length;
    this.logEnd = chunk.end;
    const lines: LogLine[] = [];
    let at = 0;
    for (;;) {
      const nl = buf.indexOf(10, at);
      if (nl !== -1 && nl - at <= this.maxBytes) {
        lines.push({ text: buf.toString('utf8', at, nl), end: base + nl + 1 });
        at = nl + 1;
      } else if (nl !== -1 || buf.length - at > this.maxBytes) {
        const cut = charBoundary(buf, at, at + this.maxBytes);
        lines.push({ text: buf.toString('utf8', at, cut), end: base + cut });
        at = cut;
      } else break;
    }
    this.carry = Buffer.from(buf.subarray(at));
    return lines;
  }

  /** What is left after the last newline once the log has ended, as a last line; null if none. */
  end(): LogLine | null {
    if (this.carry.length === 0) return null;
    const text = this.carry.toString('utf8');
    this.carry = Buffer.alloc(0);
    return { text, end: this.logEnd };
  }
}

/** `cut`, or up to three bytes earlier if it would split a UTF-8 sequence (never back to `from`). */
function charBoundary(buf: Buffer, from: number, cut: number): number {
  for (let at = cut; at >= Math.max(from + 1, cut - 3); at--) {
    if ((buf[at]! & 0xc0) !== 0x80) return at;
  }
  return cut;
}
