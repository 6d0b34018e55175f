/**
 * The NATS store's connection and its buckets, opened once and lazily (the store's factory
 * returns at once; every method awaits this), and the compare-and-set write every change uses.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { ForgeError } from '../../../domain/errors.ts';
import { openView, type KvView } from './kv-view.ts';

export interface NatsStoreOptions {
  /** nats://host:port */
  url: string;
  token?: string;
  /** A NATS credentials file (JWT and NKey seed). */
  credsFile?: string;
  /** Names the buckets (`<prefix>_jobs`, `<prefix>_keys`, `<prefix>_outbox`); default `forge`. */
  prefix?: string;
}

export interface Conn<Job, JobSummary, Delivery> {
  nc: NatsConnection;
  jobs: KV;
  /** Idempotency keys, origin index, delivery dedupe keys and the delivery id counter. */
  keys: KV;
  outbox: KV;
  jobView: KvView<Job, JobSummary>;
  outboxView: KvView<Delivery>;
}

export async function openConn<J, S, D>(
  opts: NatsStoreOptions,
  summarize: (job: J) => S,
  onRemoteJob?: (summary: S, before: S | null) => void,
  onJobChange?: (key: string, before: S | null, after: S | null) => void,
): Promise<Conn<J, S, D>> {
  const prefix = opts.prefix ?? 'forge';
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: opts.url,
      ...(opts.token ? { token: opts.token } : {}),
      ...(opts.credsFile
        ? { authenticator: credsAuthenticator(await readFile(opts.credsFile)) }
        : {}),
    });
  } catch (err) {
    throw new ForgeError(
      'unavailable',
      `cannot connect to NATS at ${opts.url} (${String(err)}): check that nats-server runs there with JetStream enabled (-js) and that the store's token or credentials file is right`,
      { cause: err },
    );
  }
  try {
    const kvm = new Kvm(nc);
    const [jobs, keys, outbox] = await Promise.all(
      ['jobs', 'keys', 'outbox'].map((name) => kvm.create(`${prefix}_${name}`, { history: 1 })),
    );
    if (!jobs || !keys || !outbox) throw new Error('a bucket could not be opened');
    const open = () => !nc.isClosed();
    const [jobView, outboxView] = await Promise.all([
      openView<J, S>(jobs, {
        keys: '>',
        project: summarize,
        ...(onRemoteJob
          ? { onRemote: (_key: string, s: S, before: S | null) => onRemoteJob(s, before) }
          : {}),
        ...(onJobChange ? { onChange: onJobChange } : {}),
        open,
      }),
      openView<D>(outbox, { keys: 'd.>', project: (d) => d, open }),
    ]);
    return { nc, jobs, keys, outbox, jobView, outboxView };
  } catch (err) {
    await nc.close();
    throw new ForgeError(
      'unavailable',
      `NATS at ${opts.url} refused the store's buckets (${String(err)}): check that JetStream is enabled (-js) and the account may create key-value buckets named ${prefix}_*`,
      { cause: err },
    );
  }
}

/** Whether a write failed because the key was written since it was read (or exists already). */
export function isConflict(err: unknown): boolean {
  return (
    err instanceof JetStreamApiError &&
    (err.code === JetStreamApiCodes.StreamWrongLastSequence ||
      err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}

/** A KV key for any string (KV keys allow only a few characters). */
export const hashKey = (value: string): string => createHash('sha256').update(value).digest('hex');

/** Writes `value` under `key` unless the key exists; false when it did. */
export async function createOnce(kv: KV, key: string, value: string): Promise<boolean> {
  try {
    await kv.create(key, value);
    return true;
  } catch (err) {
    if (isConflict(err)) return false;
    throw err;
  }
}

const MAX_TRIES = 50;

/**
 * Reads `key`, lets `change` edit the parsed value and, when it says so, writes it back guarded
 * by the revision read; when another writer came first it reads again and runs `change` again.
 * `undefined` when the key holds nothing. The value written is also applied to `view`.
 */
export async function casUpdate<T, R>(
  kv: KV,
  key: string,
  change: (value: T) => { write: boolean; result: R },
  view?: KvView<T, unknown>,
): Promise<R | undefined> {
  for (let i = 0; i < MAX_TRIES; i++) {
    const entry = await kv.get(key);
    if (!entry || entry.operation !== 'PUT') return undefined;
    const value = entry.json<T>();
    const { write, result } = change(value);
    if (!write) {
      view?.apply(key, value, entry.revision);
      return result;
    }
    const done = view?.writing(key);
    try {
      const revision = await kv.update(key, JSON.stringify(value), entry.revision);
      view?.apply(key, value, revision);
      return result;
    } catch (err) {
      if (!isConflict(err)) throw err;
    } finally {
      done?.();
    }
  }
  throw new ForgeError(
    'unavailable',
    `${key} kept changing under ${MAX_TRIES} tries to update it; too many writers at once, try again`,
  );
}
