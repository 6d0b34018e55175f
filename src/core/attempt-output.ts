import { closeSync, openSync, writeSync } from 'node:fs';
import type { AgentReport, OutputParser } from '../ports/agent.ts';
import type { EventBus } from './events.ts';
import { LineSplitter } from './line-splitter.ts';
import { OutputTail } from './output-tail.ts';

/**
 * Where an attempt's output goes: the agent's raw stream is split into lines, the agent's parser
 * turns each into readable lines, and those go to the full log file (the source of truth), the
 * record's tail and the live event bus — in that order, so a client that resumes from a log
 * offset never misses a line.
 */
export class AttemptOutput {
  readonly tail = new OutputTail();
  private readonly splitter = new LineSplitter();
  private readonly fd: number;
  private offset = 0;
  private readonly bus: EventBus;
  private parser: OutputParser = { line: (raw) => ({ display: [raw] }) };
  private onReport: (report: AgentReport) => void = () => {};
  private readonly jobId: string;
  private readonly attempt: number;
  private closed = false;
  private readonly secrets: string[];
  /** Bumped on every write, so the periodic save can skip unchanged tails. */
  version = 0;

  constructor(opts: {
    logPath: string;
    bus: EventBus;
    jobId: string;
    attempt: number;
    /** Values that must never appear in the log, the tail or the live stream. */
    secrets?: string[];
  }) {
    // Short values would redact ordinary words; secrets worth the name are longer.
    this.secrets = (opts.secrets ?? []).filter((secret) => secret.length >= 8);
    this.fd = openSync(opts.logPath, 'a');
    this.bus = opts.bus;
    this.jobId = opts.jobId;
    this.attempt = opts.attempt;
  }

  /** Routes the agent's lines through its adapter's parser from now on. */
  setParser(parser: OutputParser, onReport: (report: AgentReport) => void): void {
    this.parser = parser;
    this.onReport = onReport;
  }

  /** Feeds raw bytes from the agent. */
  push(chunk: Buffer): void {
    this.emit(this.splitter.push(chunk), true);
  }

  /** A line Forge itself adds (notices, the reason it stopped the agent). */
  note(text: string): void {
    this.emit([`[forge] ${text}`], false);
  }

  /** Flushes the last partial line, lets the parser report what only the end shows, and closes
   *  the log. */
  close(): void {
    if (this.closed) return;
    this.emit(this.splitter.end(), true);
    const last = this.parser.finish?.();
    if (last) this.onReport(last);
    this.closed = true;
    closeSync(this.fd);
  }

  private emit(rawLines: string[], parse: boolean): void {
    if (this.closed || rawLines.length === 0) return;
    const display: string[] = [];
    for (const raw of rawLines) {
      if (!parse) {
        display.push(raw);
        continue;
      }
      const parsed = this.parser.line(raw);
      display.push(...parsed.display);
      if (parsed.report) this.onReport(parsed.report);
    }
    if (display.length === 0) return;
    if (this.secrets.length) {
      for (let i = 0; i < display.length; i++) {
        for (const secret of this.secrets)
          display[i] = display[i]!.replaceAll(secret, '[redacted]');
      }
    }
    const buffers = display.map((line) => Buffer.from(`${line}\n`));
    const all = Buffer.concat(buffers);
    writeSync(this.fd, all);
    this.tail.push(all);
    this.version++;
    for (let i = 0; i < display.length; i++) {
      this.offset += buffers[i]!.length;
      this.bus.publish({
        type: 'attempt.output',
        jobId: this.jobId,
        attempt: this.attempt,
        offset: this.offset,
        line: display[i]!,
      });
    }
  }
}
