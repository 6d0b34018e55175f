import type { Redactor } from './redactor.ts';

/** One piece of a byte stream: a whole line, or a part of a line that was too long. */
export interface LinePiece {
  /** The piece without its newline; may share memory with the chunk it came from. */
  bytes: Buffer;
  /** True when a newline ended the piece; false for a piece cut for length and for a last line
   *  the stream ended without a newline. */
  newline: boolean;
}

type Take = (data: Buffer, start: number, end: number, newline: boolean) => void;

const EMPTY = Buffer.alloc(0);

/**
 * Splits a byte stream into lines without ever holding more than `maxLine` bytes of one line: a
 * longer line is emitted in pieces of at most `maxLine` bytes, so memory stays bounded whatever
 * the stream holds. The stream is untrusted (any bytes, any length, no newlines), so every step
 * makes progress on any input.
 *
 * A piece is cut before the character that would cross the limit, looking back at most 3 bytes
 * (a UTF-8 character is at most 4); bytes that are not UTF-8 are cut at the limit. Given a
 * redactor, a cut never splits a secret either: the splitter keeps the redactor's longest secret
 * in reserve below the limit (so the bytes after the cut that decide whether a secret spans it
 * are always there) and moves the cut back to the secret's start. Redacting the pieces then hides
 * exactly what redacting whole lines would; redacting before cutting would instead have to hold
 * back the end of every chunk in case a secret continues in the next one.
 */
export class LineSplitter {
  private pending: Buffer = EMPTY;
  private readonly maxLine: number;
  private readonly redactor: Redactor | null;

  constructor(maxLine = 64 * 1024, redactor?: Redactor) {
    if (!(maxLine >= 1)) throw new RangeError(`a line must hold at least 1 byte, not ${maxLine}`);
    const longest = redactor?.longestBytes ?? 0;
    // The cut moves back from `maxLine - longest + 1` to a character's start, up to 3 bytes.
    if (longest > 0 && longest + 3 > maxLine)
      throw new RangeError(
        `a secret of ${longest} bytes cannot be kept whole in lines cut every ${maxLine} bytes: ` +
          'use shorter secrets',
      );
    this.maxLine = maxLine;
    this.redactor = longest > 0 ? redactor! : null;
  }

  /** Returns the complete lines in `chunk` as text, without their newline or a CR before it. */
  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    this.split(chunk, (data, start, end, newline) => {
      lines.push(data.toString('utf8', start, newline ? withoutCr(data, start, end) : end));
    });
    return lines;
  }

  /** Like `push`, the lines joined by newlines (no newline after the last); null when `chunk`
   *  completes no line. Where no line needs cutting, the lines are decoded at once rather than
   *  one by one: the same text, as a newline byte ends any unfinished UTF-8 sequence before it. */
  pushText(chunk: Buffer): string | null {
    const taken = this.pushChunk(chunk);
    return 'bytes' in taken ? linesText(taken.bytes) : taken.text;
  }

  /** Like `pushText`, but where no line needs cutting gives the bytes of the lines `chunk`
   *  completes as they came, each with its newline (`linesText` makes them `pushText`'s text). */
  pushChunk(chunk: Buffer): { bytes: Buffer } | { text: string | null } {
    const data = this.withPending(chunk);
    const last = data.lastIndexOf(10);
    if (last === -1 || !this.uncut(data, last)) {
      const lines: string[] = [];
      this.splitData(data, (d, start, end, newline) => {
        lines.push(d.toString('utf8', start, newline ? withoutCr(d, start, end) : end));
      });
      return { text: lines.length ? lines.join('\n') : null };
    }
    // A copy of the rest: `chunk` may be a pooled buffer its owner reuses.
    this.pending = last + 1 === data.length ? EMPTY : Buffer.from(data.subarray(last + 1));
    return { bytes: data.subarray(0, last + 1) };
  }

  /** True when neither the lines `data` completes (up to `last`, its last newline) nor what
   *  follows them is longer than a line may be. */
  private uncut(data: Buffer, last: number): boolean {
    if (data.length - last - 1 > this.maxLine) return false;
    for (let start = 0; last - start > this.maxLine;) {
      const nl = data.indexOf(10, start);
      if (nl - start > this.maxLine) return false;
      start = nl + 1;
    }
    return true;
  }

  /** The last line as text when the stream ended without a newline. */
  end(): string[] {
    const rest = this.pending;
    this.pending = EMPTY;
    return rest.length ? [rest.toString('utf8', 0, withoutCr(rest, 0, rest.length))] : [];
  }

  /** Like `push`, as bytes: the pieces, with the newlines that ended them, re-join to exactly the
   *  stream's bytes (no CR is stripped, nothing is decoded). */
  pushBytes(chunk: Buffer): LinePiece[] {
    const pieces: LinePiece[] = [];
    this.split(chunk, (data, start, end, newline) => {
      pieces.push({ bytes: data.subarray(start, end), newline });
    });
    return pieces;
  }

  /** Like `end`, as bytes. */
  endBytes(): LinePiece[] {
    const rest = this.pending;
    this.pending = EMPTY;
    return rest.length ? [{ bytes: rest, newline: false }] : [];
  }

  /** Hands every line `chunk` completes, and every piece cut from an over-long line, to `take`;
   *  keeps the rest (at most `maxLine` bytes) for the next chunk. */
  private split(chunk: Buffer, take: Take): void {
    this.splitData(this.withPending(chunk), take);
  }

  private withPending(chunk: Buffer): Buffer {
    return this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
  }

  private splitData(data: Buffer, take: Take): void {
    let start = 0;
    for (;;) {
      const nl = data.indexOf(10, start);
      const end = nl === -1 ? data.length : nl;
      while (end - start > this.maxLine) {
        const cut = start + this.cutAt(data.subarray(start, end));
        take(data, start, cut, false);
        start = cut;
      }
      if (nl === -1) break;
      take(data, start, nl, true);
      start = nl + 1;
    }
    // A copy: `chunk` may be a pooled buffer its owner reuses.
    this.pending = start === data.length ? EMPTY : Buffer.from(data.subarray(start));
  }

  /** Where to cut `line`, which is longer than `maxLine`: a position in 1..maxLine. */
  private cutAt(line: Buffer): number {
    if (!this.redactor) return charStart(line, this.maxLine);
    const at = charStart(line, this.maxLine - this.redactor.longestBytes + 1);
    return this.redactor.safeCut(line, at);
  }
}

/** `at`, or the start of the character that `data[at]` continues when it starts within 3 bytes
 *  before; never 0, so that every cut makes progress, even through bytes that are not UTF-8. */
function charStart(data: Buffer, at: number): number {
  for (let i = at; i > 0 && i > at - 4; i--) if ((data[i]! & 0xc0) !== 0x80) return i;
  return at;
}

/** Whole lines, each with its newline, as the text of those lines (CR before a newline dropped)
 *  joined by newlines: decoded at once, since a newline byte ends any unfinished UTF-8 sequence. */
export function linesText(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  return (text.includes('\r') ? text.replaceAll('\r\n', '\n') : text).slice(0, -1);
}

/** `end`, less one when the line ends with CR (a CRLF newline). */
function withoutCr(data: Buffer, start: number, end: number): number {
  return end > start && data[end - 1] === 13 ? end - 1 : end;
}
