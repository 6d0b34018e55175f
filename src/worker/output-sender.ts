/**
 * Sends the agent's output from the worker's spool file to Forge. The agent writes the spool
 * (stdout and stderr on one O_APPEND descriptor, so their order is kept and nothing depends on
 * this process reading a pipe); this sends it in pieces from the last offset Forge acknowledged.
 * A piece whose answer was lost is sent again from that offset and Forge drops the overlap; a
 * Forge that holds less than the worker thought (a new server) says where to resume. When there
 * is nothing to send for a heartbeat interval an empty piece is sent: the heartbeat, which also
 * brings back whether Forge wants the attempt cancelled.
 */
import { open, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Acknowledgement {
  acked: number;
  cancel: boolean;
}

/** Delivers `bytes` as output starting at `offset`; resolves with what Forge then holds. Retries
 *  on its own; a rejection is final (Forge unreachable for too long). */
export type SendOutput = (offset: number, bytes: Buffer) => Promise<Acknowledgement>;

export interface OutputSenderOptions {
  spool: string;
  send: SendOutput;
  /** What Forge already holds (from the spec): sending starts here. */
  acked: number;
  heartbeatMs: number;
  /** Largest piece sent at once. */
  pieceBytes?: number;
  /** How often the spool is looked at for new output (default 50 ms). */
  pollMs?: number;
  onCancel: () => void;
}

export class OutputSender {
  acked: number;
  private stopped = false;
  private failure: Error | null = null;
  private lastSent = 0;
  private wake: (() => void) | null = null;
  private readonly opts: OutputSenderOptions;
  readonly done: Promise<void>;

  constructor(opts: OutputSenderOptions) {
    this.opts = opts;
    this.acked = opts.acked;
    this.done = this.loop().catch((err: unknown) => {
      this.failure = err as Error;
      this.wake?.();
    });
  }

  /** Resolves once Forge holds everything in the spool now; rejects if sending failed for good. */
  async drain(): Promise<number> {
    for (;;) {
      if (this.failure) throw this.failure;
      const size = await spoolSize(this.opts.spool);
      if (this.acked >= size) return size;
      this.poke();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 10);
        void this.done.then(() => (clearTimeout(timer), resolve()));
      });
    }
  }

  /** Looks at the spool now rather than at the next poll. */
  poke(): void {
    this.wake?.();
  }

  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  private async loop(): Promise<void> {
    const piece = this.opts.pieceBytes ?? 256 * 1024;
    while (!this.stopped) {
      const size = await spoolSize(this.opts.spool);
      if (this.acked < size) {
        await this.sendPiece(
          await readAt(this.opts.spool, this.acked, Math.min(piece, size - this.acked)),
        );
      } else if (Date.now() - this.lastSent >= this.opts.heartbeatMs) {
        await this.sendPiece(Buffer.alloc(0));
      } else {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          void sleep(this.opts.pollMs ?? 50).then(resolve);
        });
        this.wake = null;
      }
    }
  }

  private async sendPiece(bytes: Buffer): Promise<void> {
    const answer = await this.opts.send(this.acked, bytes);
    this.lastSent = Date.now();
    this.acked = answer.acked;
    if (answer.cancel) this.opts.onCancel();
  }
}

async function spoolSize(file: string): Promise<number> {
  return (await stat(file).catch(() => ({ size: 0 }))).size;
}

async function readAt(file: string, offset: number, length: number): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buf, 0, length, offset);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
