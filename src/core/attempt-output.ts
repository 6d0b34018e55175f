import { PLAIN_OUTPUT, type AgentReport, type OutputParser } from '../ports/agent.ts';
import type { AttemptLog } from '../ports/logs.ts';
import type { EventBus } from './events.ts';
import { isUtf8 } from 'node:buffer';
import { LineSplitter, linesText } from './line-splitter.ts';
import { OutputTail } from './output-tail.ts';
import type { Redactor } from './redactor.ts';

/** The longest piece of a line the log holds: the agent's longer lines are cut into pieces of at
 *  most this many bytes (see LineSplitter), so one endless line cannot exhaust memory. */
export const MAX_LINE_BYTES = 64 * 1024;

export interface AttemptOutputOptions {
  /** The attempt's full log (the source of truth), opened for appending. */
  log: AttemptLog;
  bus: EventBus;
  jobId: string;
  attempt: number;
  /** Hides secrets in every line written, the agent's and Forge's own notes alike; also keeps
   *  the cuts of long lines from splitting a secret. */
  redactor: Redactor;
  /** Continues an attempt a previous server ran (re-attach): its log's size so far (where live
   *  offsets go on from) and its saved output tail. */
  resumeAt?: { offset: number; tail: string };
}

/**
 * Where an attempt's output goes: the agent's raw stream is split into lines, the agent's parser
 * turns each into readable lines, and those are redacted and go to the full log (the source
 * of truth), the record's tail and the live event bus — in that order, so a client that resumes
 * from a log offset never misses a line.
 */
export class AttemptOutput {
  readonly tail = new OutputTail();
  private readonly splitter: LineSplitter;
  private readonly redactor: Redactor;
  private readonly log: AttemptLog;
  private offset = 0;
  private readonly bus: EventBus;
  private parser: OutputParser = PLAIN_OUTPUT;
  private onReport: (report: AgentReport) => void = () => {};
  private readonly jobId: string;
  private readonly attempt: number;
  private closed = false;
  /** Bumped on every write, so the periodic save can skip unchanged tails. */
  version = 0;

  constructor(opts: AttemptOutputOptions) {
    this.redactor = opts.redactor;
    this.splitter = new LineSplitter(MAX_LINE_BYTES, opts.redactor);
    this.log = opts.log;
    this.bus = opts.bus;
    this.jobId = opts.jobId;
    this.attempt = opts.attempt;
    if (opts.resumeAt) {
      this.offset = opts.resumeAt.offset;
      if (opts.resumeAt.tail) this.tail.push(Buffer.from(opts.resumeAt.tail));
    }
  }

  /** Routes the agent's lines through its adapter's parser from now on. */
  setParser(parser: OutputParser, onReport: (report: AgentReport) => void): void {
    this.parser = parser;
    this.onReport = onReport;
  }

  /** Feeds raw bytes from the agent. Plain output goes through as text a chunk at a time; only
   *  a parser needs it line by line. */
  push(chunk: Buffer): void {
    if (this.parser !== PLAIN_OUTPUT) return this.emit(this.splitter.push(chunk), true);
    if (this.closed) return;
    const taken = this.splitter.pushChunk(chunk);
    if (!('bytes' in taken)) {
      if (taken.text !== null) this.write(this.redact(taken.text));
      return;
    }
    // Valid UTF-8 with no CR and no secret is its own log text, byte for byte: it need not be
    // decoded, redacted and encoded again.
    const { bytes } = taken;
    if (isUtf8(bytes) && !bytes.includes(13) && !this.redactor.appearsIn(bytes))
      return this.writeBytes(bytes);
    this.write(this.redact(linesText(bytes)));
  }

  /** A line Forge itself adds (notices, the reason it stopped the agent); each line of a text of
   *  several becomes its own log line. */
  note(text: string): void {
    this.emit(
      text.split(/\r?\n/).map((line) => `[forge] ${line}`),
      false,
    );
  }

  /** Flushes the last partial line, lets the parser report what only the end shows, and closes
   *  the log. */
  close(): void {
    if (this.closed) return;
    this.emit(this.splitter.end(), true);
    const last = this.parser.finish?.();
    if (last) this.onReport(last);
    this.closed = true;
    this.log.close();
  }

  /** One batch of lines (what one chunk of output held) goes out as one piece: one redaction
   *  pass, one log write, one tail entry, one event. */
  private emit(rawLines: string[], parse: boolean): void {
    if (this.closed || rawLines.length === 0) return;
    const display = parse ? this.parse(rawLines) : rawLines;
    if (display.length === 0) return;
    this.write(this.redactLines(display));
  }

  /** Redacting the lines joined hides exactly what redacting each would, since no secret spans a
   *  line break; a secret that holds one is looked for in each line alone. */
  private redactLines(lines: string[]): string {
    if (!this.redactor.multiline) return this.redactor.redact(lines.join('\n'));
    return lines.map((line) => this.redactor.redact(line)).join('\n');
  }

  /** The same for lines already joined (plain output, whose lines hold no newline). */
  private redact(text: string): string {
    return this.redactor.multiline
      ? this.redactLines(text.split('\n'))
      : this.redactor.redact(text);
  }

  private write(text: string): void {
    this.writeBytes(Buffer.from(`${text}\n`), text);
  }

  /** `bytes`: whole lines, each with its newline; `text` the same without the last newline, or
   *  left to be decoded if a listener asks for it. */
  private writeBytes(bytes: Buffer, text?: string): void {
    this.log.append(bytes);
    this.tail.push(bytes);
    this.version++;
    this.offset += bytes.length;
    let decoded = text;
    this.bus.publish({
      type: 'attempt.output',
      jobId: this.jobId,
      attempt: this.attempt,
      offset: this.offset,
      get text() {
        return (decoded ??= bytes.toString('utf8', 0, bytes.length - 1));
      },
    });
  }

  private parse(rawLines: string[]): string[] {
    const display: string[] = [];
    for (const raw of rawLines) {
      const parsed = this.parser.line(raw);
      for (const line of parsed.display) display.push(line);
      if (parsed.report) this.onReport(parsed.report);
    }
    return display;
  }
}
