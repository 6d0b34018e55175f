// Forge's side of forge-spawn: one helper process, started when first needed and again after it
// dies, that creates the local sandbox's processes and relays their output (see
// native/forge-spawn.c for why). When the helper dies, every process it started loses its output
// pipe, so each of its runs ends at once as `lost`, and the sandbox stops what is left of it: the
// attempt is closed as interrupted, as after a crash of Forge, and retried by its policy.
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { Readable } from 'node:stream';
import {
  encodeFrame,
  encodeSpawn,
  EVENT,
  FrameDecoder,
  REQUEST,
  type Frame,
  type SpawnRequest,
} from './frames.ts';

/** How much output Forge holds for a run whose reader is behind before the helper stops reading
 *  that run's pipe (and so the process blocks on a full pipe, as it would on Node's). */
const OUTPUT_HIGH_WATER = 4 << 20;

export interface HelperExit {
  exitCode: number | null;
  signal: string | null;
  /** Set when the helper died while the process ran: what is known about its end is nothing. */
  lost?: string;
}

export interface HelperProcess {
  pid: number;
  /** Merged stdout and stderr, in large chunks. Destroying it stops the helper reading it. */
  stdout: Readable;
  /** The text the process wrote to its status descriptor, once that closed ('' without one). */
  status: Promise<string>;
  exit: Promise<HelperExit>;
}

interface Run {
  started: (pid: number) => void;
  failed: (reason: string) => void;
  stdout: Readable;
  paused: boolean;
  status: Buffer[];
  statusDone: (text: string) => void;
  exited: (exit: HelperExit) => void;
  exitSeen: boolean;
  outputEnded: boolean;
  statusEnded: boolean;
}

interface Helper {
  proc: ChildProcess;
  runs: Map<number, Run>;
}

const SIGNAL_NAMES = new Map(Object.entries(constants.signals).map(([name, n]) => [n, name]));

export class SpawnHelper {
  private helper: Helper | null = null;
  private nextId = 1;
  private readonly binary: string;
  private readonly onDeath: ((reason: string) => void) | undefined;

  /** `onDeath` hears of every unexpected end of the helper, with its reason. */
  constructor(binary: string, onDeath?: (reason: string) => void) {
    this.binary = binary;
    this.onDeath = onDeath;
  }

  /** The helper's pid while it runs (the supervision tests kill it by this). */
  get pid(): number | undefined {
    return this.helper?.proc.pid;
  }

  /** Resolves once the process has exec'd (or, when the program cannot be executed, once it has
   *  said so in its output); rejects with the reason when setting it up failed. */
  spawn(req: SpawnRequest): Promise<HelperProcess> {
    const payload = encodeSpawn(req);
    const helper = this.running();
    const id = this.nextId++;
    return new Promise<HelperProcess>((resolve, reject) => {
      let statusDone: (text: string) => void = () => {};
      const status = new Promise<string>((r) => (statusDone = r));
      let exited: (exit: HelperExit) => void = () => {};
      const exit = new Promise<HelperExit>((r) => (exited = r));
      const run: Run = {
        started: (pid) => resolve({ pid, stdout, status, exit }),
        failed: (reason) => reject(new Error(reason)),
        stdout: new Readable({
          highWaterMark: OUTPUT_HIGH_WATER,
          read: () => {
            if (!run.paused) return;
            run.paused = false;
            this.send(helper, REQUEST.resume, id);
          },
          destroy: (err, callback) => {
            // Stopped before its end: the helper stops reading the output and the status, so
            // what status came is all there will be. (After its end, the status may still come.)
            if (!run.outputEnded) {
              this.send(helper, REQUEST.close, id);
              run.statusDone(Buffer.concat(run.status).toString('utf8'));
              run.outputEnded = true;
              this.forgetIfDone(helper, id, run);
            }
            callback(err);
          },
        }),
        paused: false,
        status: [],
        statusDone: (text) => {
          run.statusEnded = true;
          statusDone(text);
        },
        exited: (e) => exited(e),
        exitSeen: false,
        outputEnded: false,
        statusEnded: false,
      };
      const stdout = run.stdout;
      if (!req.statusFd) run.statusDone('');
      helper.runs.set(id, run);
      this.hold(helper);
      this.send(helper, REQUEST.spawn, id, payload);
    });
  }

  /** Stops the helper (the processes it started live on, as after Forge's own exit). */
  close(): void {
    const helper = this.helper;
    this.helper = null;
    if (helper) this.lose(helper, 'Forge stopped its process helper');
    helper?.proc.kill('SIGKILL');
  }

  private running(): Helper {
    if (this.helper) return this.helper;
    const proc = spawn(this.binary, [], { stdio: ['pipe', 'pipe', 'inherit'] });
    const helper: Helper = { proc, runs: new Map<number, Run>() };
    this.helper = helper;
    const decoder = new FrameDecoder();
    proc.stdout.on('data', (chunk: Buffer) => {
      for (const frame of decoder.push(chunk)) this.onFrame(helper, frame);
    });
    proc.stdin.on('error', () => {}); // a dead helper is reported by 'close'
    proc.on('error', (err) => this.died(helper, `it could not run: ${err.message}`));
    proc.on('close', (code, signal) =>
      this.died(helper, signal ? `it was killed by ${signal}` : `it exited with code ${code}`),
    );
    return helper;
  }

  private died(helper: Helper, why: string): void {
    if (this.helper !== helper) return;
    this.helper = null;
    const reason = `Forge's process helper (forge-spawn) died: ${why}`;
    if (helper.runs.size > 0) this.onDeath?.(reason);
    this.lose(helper, reason);
  }

  /** Ends every run of a helper that is gone: starts fail, output ends, exits are lost. */
  private lose(helper: Helper, reason: string): void {
    for (const run of helper.runs.values()) {
      run.failed(reason);
      if (!run.outputEnded) run.stdout.push(null);
      run.statusDone(Buffer.concat(run.status).toString('utf8'));
      run.exited({ exitCode: null, signal: null, lost: reason });
    }
    helper.runs.clear();
  }

  private onFrame(helper: Helper, frame: Frame): void {
    const run = helper.runs.get(frame.id);
    if (!run) return;
    switch (frame.type) {
      case EVENT.started:
        run.started(frame.payload.readUInt32LE(0));
        break;
      case EVENT.failed:
        helper.runs.delete(frame.id);
        this.release(helper);
        run.failed(frame.payload.toString('utf8'));
        break;
      case EVENT.output:
        if (!run.stdout.push(frame.payload) && !run.paused) {
          run.paused = true;
          this.send(helper, REQUEST.pause, frame.id);
        }
        break;
      case EVENT.outputEnd:
        run.stdout.push(null);
        run.outputEnded = true;
        break;
      case EVENT.status:
        run.status.push(frame.payload);
        break;
      case EVENT.statusEnd:
        run.statusDone(Buffer.concat(run.status).toString('utf8'));
        break;
      case EVENT.exit: {
        const code = frame.payload.readInt32LE(0);
        const signal = frame.payload.readUInt32LE(4);
        run.exitSeen = true;
        run.exited({
          exitCode: code >= 0 ? code : null,
          signal: signal ? (SIGNAL_NAMES.get(signal) ?? `signal ${signal}`) : null,
        });
        break;
      }
    }
    this.forgetIfDone(helper, frame.id, run);
  }

  private forgetIfDone(helper: Helper, id: number, run: Run): void {
    if (!run.exitSeen || !run.outputEnded || !run.statusEnded) return;
    if (helper.runs.get(id) !== run) return;
    helper.runs.delete(id);
    this.release(helper);
  }

  private send(helper: Helper, type: number, id: number, payload?: Buffer): void {
    if (this.helper === helper) helper.proc.stdin!.write(encodeFrame(type, id, payload));
  }

  /** While it has runs the helper keeps Forge's event loop alive; idle, it does not. */
  private hold(helper: Helper): void {
    helper.proc.ref();
    (helper.proc.stdout as unknown as { ref(): void }).ref();
  }

  private release(helper: Helper): void {
    if (helper.runs.size > 0) return;
    helper.proc.unref();
    (helper.proc.stdout as unknown as { unref(): void }).unref();
  }
}
