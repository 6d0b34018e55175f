/** Splits a byte stream into lines without ever holding more than `maxLine` bytes of one line:
 *  an endless line without a newline is emitted in `maxLine` pieces, so memory stays bounded. */
export class LineSplitter {
  private pending: Buffer = Buffer.alloc(0);
  private readonly maxLine: number;

  constructor(maxLine = 64 * 1024) {
    this.maxLine = maxLine;
  }

  /** Returns the complete lines in `chunk` (without their newline). */
  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let data = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    let start = 0;
    for (;;) {
      const nl = data.indexOf(10, start);
      if (nl === -1) break;
      lines.push(stripCr(data.toString('utf8', start, nl)));
      start = nl + 1;
    }
    data = data.subarray(start);
    while (data.length > this.maxLine) {
      let cut = this.maxLine;
      while (cut > 0 && (data[cut]! & 0xc0) === 0x80) cut--; // keep characters whole
      lines.push(data.toString('utf8', 0, cut));
      data = data.subarray(cut);
    }
    this.pending = Buffer.from(data);
    return lines;
  }

  /** The last line when the stream ended without a newline. */
  end(): string[] {
    const rest = this.pending;
    this.pending = Buffer.alloc(0);
    return rest.length ? [stripCr(rest.toString('utf8'))] : [];
  }
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}
