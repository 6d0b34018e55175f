/**
 * Attempt logs in NATS JetStream, shared by every replica: one stream `<prefix>_logs`, one subject
 * per attempt (`<prefix>.logs.<jobId>.<attempt>`). Each message holds a run of the log's bytes and
 * a `Forge-Log-Offset` header with the byte offset where they start; `open` stores an empty message
 * (so the log exists before its first byte) and `close` an empty one with a `Forge-Log-End` header.
 *
 * Appends are synchronous, publishing is not: each log has a queue that one flush at a time drains
 * into messages of at most CHUNK_BYTES, so offsets stay in order and a burst of lines becomes a few
 * messages. `read` and `follow` in the writing process first wait for its queued appends, so an
 * append is readable in this process as soon as it returns; other replicas see it once the flush
 * is acknowledged, milliseconds later: a replica that hears of an offset sooner (the live stream)
 * may read short of it for that long, so its followers should rely on `follow`, which waits.
 *
 * Retention: file storage, no max age and no byte limit on the stream, because logs outlive the
 * replica that wrote them. NATS 2.9 has no per-subject byte limit, so `maxBytesPerLog` is kept by
 * the writer, which drops the bytes past it. Deleting a job's logs means purging its subjects.
 * `read` scans a log's messages from its first, so it costs O(log size).
 */
import {
  DeliverPolicy,
  DiscardPolicy,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type StoredMsg,
} from '@nats-io/jetstream';
import { connect, headers, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { ForgeError } from '../../domain/errors.ts';
import type { AttemptLog, AttemptLogs, LogChunk, LogRange } from '../../ports/logs.ts';
import type { AttemptKey } from '../../ports/store.ts';

export interface NatsLogsOptions {
  url: string;
  token?: string;
  /** Names the stream (`<prefix>_logs`) and subjects (`<prefix>.logs.…`); default 'forge'. */
  prefix?: string;
  /** The most bytes one log keeps; later bytes are dropped. Unlimited when unset. */
  maxBytesPerLog?: number;
}

/** The most bytes one message carries (NATS' default max payload is 1 MiB). */
const CHUNK_BYTES = 512 * 1024;
const OFFSET_HEADER = 'Forge-Log-Offset';
const END_HEADER = 'Forge-Log-End';

interface Link {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
}

/** What a log's queue holds: bytes, or a marker that the log was opened or closed. */
type Item = Buffer | 'open' | 'end';

/** One log as this process writes it: its size (bytes accepted), its queue and its flushes. */
class LogWriter {
  /** The size the next append starts at, as far as this process knows. */
  size = 0;
  /** Where the next stored byte goes; null until the log's end was looked up in the stream. */
  stored: number | null = null;
  failure: unknown = null;
  private queue: Item[] = [];
  private flushQueued = false;
  /** Settles once every item queued so far is stored (or failed); never rejects. */
  settled: Promise<void> = Promise.resolve();

  private readonly publish: (items: Item[]) => Promise<void>;

  constructor(publish: (items: Item[]) => Promise<void>) {
    this.publish = publish;
  }

  push(item: Item): void {
    this.queue.push(item);
    if (this.flushQueued) return;
    this.flushQueued = true;
    this.settled = this.settled.then(async () => {
      this.flushQueued = false;
      const items = this.queue;
      this.queue = [];
      if (this.failure) return;
      await this.publish(items).catch((err: unknown) => {
        this.failure = err;
      });
    });
  }
}

export interface NatsLogs extends AttemptLogs {
  /** Deletes every log of the job (retention; see the store's `purgeFinished`). */
  removeJob(jobId: string): Promise<void>;
  close(): Promise<void>;
}

export function createNatsLogs(opts: NatsLogsOptions): NatsLogs {
  const prefix = opts.prefix ?? 'forge';
  const stream = `${prefix}_logs`;
  const maxBytes = opts.maxBytesPerLog ?? Infinity;
  const writers = new Map<string, LogWriter>();
  let link: Promise<Link> | null = null;

  function unavailable(what: string, cause: unknown): ForgeError {
    const reason = cause instanceof Error ? cause.message : String(cause);
    return new ForgeError(
      'unavailable',
      `attempt logs: ${what} at NATS ${opts.url} failed (${reason}); check that nats-server runs there with JetStream (-js) and the token is right`,
      { cause },
    );
  }

  async function linkUp(): Promise<Link> {
    const nc = await connect({ servers: opts.url, token: opts.token, name: 'forge-logs' });
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams
        .add({
          name: stream,
          subjects: [`${prefix}.logs.>`],
          storage: StorageType.File,
          retention: RetentionPolicy.Limits,
          discard: DiscardPolicy.Old,
          max_age: 0,
          max_msg_size: CHUNK_BYTES + 4096,
          allow_direct: true,
        })
        .catch(async (err: unknown) => {
          // Created before with another config (an older Forge, or by hand): use it as it is.
          if (!(await jsm.streams.info(stream).catch(() => null))) throw err;
        });
      return { nc, jsm, js: jetstream(nc) };
    } catch (err) {
      await nc.close();
      throw err;
    }
  }

  /** The one connection, made on first use; a failed attempt is retried by the next call. */
  function linked(): Promise<Link> {
    link ??= linkUp().catch((err: unknown) => {
      link = null;
      throw unavailable('connecting', err);
    });
    return link;
  }

  function subject(key: AttemptKey): string {
    if (!/^[A-Za-z0-9_-]+$/.test(key.job_id) || !Number.isInteger(key.attempt))
      throw new ForgeError(
        'invalid_request',
        `attempt logs: bad attempt key ${JSON.stringify(key)}`,
      );
    return `${prefix}.logs.${key.job_id}.${key.attempt}`;
  }

  /** The log's last message, or null when it has none. */
  async function lastOf(l: Link, subj: string): Promise<StoredMsg | null> {
    return l.jsm.streams.getMessage(stream, { last_by_subj: subj }).catch((err: unknown) => {
      throw unavailable('reading', err);
    });
  }

  /** Stores queued items as messages: runs of bytes up to CHUNK_BYTES, and the markers. */
  async function publishAll(subj: string, writer: LogWriter, items: Item[]): Promise<void> {
    const l = await linked();
    if (writer.stored === null) {
      // Another replica (or an earlier run) may have written this log: append at its real end.
      // Offsets `append` returned before this lookup are short by that much; later ones are right.
      const last = await lastOf(l, subj);
      writer.stored = last ? endOf(last) : 0;
      writer.size += writer.stored;
    }
    const send = async (data: Uint8Array, end: boolean): Promise<void> => {
      const h = headers();
      h.set(OFFSET_HEADER, String(writer.stored));
      if (end) h.set(END_HEADER, '1');
      await l.js.publish(subj, data, { headers: h });
      writer.stored = (writer.stored ?? 0) + data.length;
    };
    let run: Buffer[] = [];
    let runBytes = 0;
    const sendRun = async (): Promise<void> => {
      const all = Buffer.concat(run);
      run = [];
      runBytes = 0;
      for (let from = 0; from < all.length; from += CHUNK_BYTES)
        await send(all.subarray(from, from + CHUNK_BYTES), false);
    };
    for (const item of items) {
      if (Buffer.isBuffer(item)) {
        run.push(item);
        runBytes += item.length;
        if (runBytes >= CHUNK_BYTES) await sendRun();
        continue;
      }
      if (runBytes > 0) await sendRun();
      await send(new Uint8Array(0), item === 'end');
    }
    if (runBytes > 0) await sendRun();
  }

  function writerOf(subj: string): LogWriter {
    let writer = writers.get(subj);
    if (!writer) {
      const created: LogWriter = new LogWriter((items) => publishAll(subj, created, items));
      writer = created;
      writers.set(subj, writer);
    }
    return writer;
  }

  /** The log's messages in order, from its first, until `stop` says so or `signal` aborts. */
  async function* messagesOf(l: Link, subj: string, signal: AbortSignal): AsyncGenerator<JsMsg> {
    const consumer = await l.js.consumers
      .get(stream, { filter_subjects: subj, deliver_policy: DeliverPolicy.All })
      .catch((err: unknown) => {
        throw unavailable('following', err);
      });
    // Two messages at a time, so a follower holds little more than what it yields. (A max_bytes
    // pull stalled on nats-server 2.9 once messages neared the limit.)
    const messages = await consumer.consume({ max_messages: 2 });
    const stop = (): void => void messages.stop();
    signal.addEventListener('abort', stop, { once: true });
    try {
      if (signal.aborted) return;
      for await (const msg of messages) yield msg;
    } finally {
      signal.removeEventListener('abort', stop);
      await messages.close().catch(() => undefined);
    }
  }

  async function read(key: AttemptKey, offset: number, limit: number): Promise<LogRange | null> {
    const subj = subject(key);
    await writers.get(subj)?.settled;
    const l = await linked();
    const last = await lastOf(l, subj);
    if (!last) return null;
    const size = endOf(last);
    const want = Math.max(0, Math.min(limit, size - offset));
    if (want === 0) return { bytes: Buffer.alloc(0), size };
    const got: Buffer[] = [];
    let gotBytes = 0;
    const done = new AbortController();
    for await (const msg of messagesOf(l, subj, done.signal)) {
      const part = sliceFrom(msg, offset + gotBytes);
      if (part.length > 0) {
        got.push(part.subarray(0, want - gotBytes));
        gotBytes += Math.min(part.length, want - gotBytes);
      }
      if (gotBytes >= want || msg.seq >= last.seq) break;
    }
    return { bytes: Buffer.concat(got), size };
  }

  async function* follow(
    key: AttemptKey,
    offset: number,
    signal: AbortSignal,
  ): AsyncGenerator<LogChunk> {
    const subj = subject(key);
    await writers.get(subj)?.settled;
    if (signal.aborted) return;
    const l = await linked();
    if (!(await lastOf(l, subj))) return;
    let at = offset;
    for await (const msg of messagesOf(l, subj, signal)) {
      const bytes = sliceFrom(msg, at);
      if (bytes.length > 0) {
        at += bytes.length;
        yield { bytes, end: at };
      }
      // Ended, unless it was reopened and written after (then a later end marker counts).
      if (msg.headers?.has(END_HEADER) && msg.info.pending === 0) return;
    }
  }

  return {
    open(key): AttemptLog {
      const subj = subject(key);
      const writer = writerOf(subj);
      if (writer.failure) throw unavailable('writing', writer.failure);
      writer.push('open');
      let closed = false;
      return {
        append(bytes) {
          if (closed) return writer.size;
          if (writer.failure) throw unavailable('writing', writer.failure);
          const kept = bytes.subarray(0, Math.max(0, maxBytes - writer.size));
          if (kept.length === 0) return writer.size;
          writer.size += kept.length;
          writer.push(Buffer.from(kept));
          return writer.size;
        },
        close() {
          if (closed) return;
          closed = true;
          writer.push('end');
        },
      };
    },
    read,
    follow,
    async removeJob(jobId) {
      const l = await linked();
      await l.jsm.streams.purge(stream, { filter: `${prefix}.logs.${jobId}.>` });
    },
    async close() {
      await Promise.all([...writers.values()].map((w) => w.settled));
      const current = link;
      link = null;
      if (current) await (await current.catch(() => null))?.nc.drain();
    },
  };
}

function offsetOf(h: MsgHdrs | undefined): number {
  return Number(h?.get(OFFSET_HEADER) ?? 0);
}

/** The log's size just after a stored message. */
function endOf(msg: StoredMsg): number {
  return offsetOf(msg.header) + msg.data.length;
}

/** A message's bytes from log offset `at` on (empty when it ends before `at`). */
function sliceFrom(msg: JsMsg, at: number): Buffer {
  const start = offsetOf(msg.headers);
  const skip = Math.max(0, at - start);
  return skip >= msg.data.length ? Buffer.alloc(0) : Buffer.from(msg.data.subarray(skip));
}
