/**
 * The queue's wake-ups: a work-queue stream `<prefix>_wake` on subject `<prefix>.wake`, one message
 * per job that became PENDING (its id as the body, de-duplicated by `Nats-Msg-Id`
 * `<job id>.<revision>`), taken by one durable consumer all replicas pull from. A message is only a
 * wake-up: the replica that gets it acknowledges it at once (it never holds one for a job's
 * duration, which is how the seed's jobs were stranded) and asks its runner to claim; the claim
 * itself is the compare-and-set PENDING → RUNNING, FIFO by job id, so a wake-up for a job someone
 * else took, or two for one job, cost a look and nothing more. Each wake-up goes to one replica, so
 * a job submitted to a busy replica wakes an idle one at once instead of waiting for its poll.
 *
 * Wake-ups are published without waiting for JetStream's acknowledgement (no round trip on the
 * submit path); one lost that way, or consumed by a replica that died, is made up by the
 * reconciler: every `reconcileMs`, each replica re-publishes wake-ups for PENDING jobs that have
 * been claimable for a while (their message id names the reconcile round, so those pass the
 * de-duplication window).
 */
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type ConsumerMessages,
} from '@nats-io/jetstream';
import { headers, type NatsConnection } from '@nats-io/transport-node';

export interface WakeStream {
  /** Announces that `jobId` (at `revision`) can be claimed. Never throws, never waits. */
  announce(jobId: string, revision: number | string): void;
  /** Calls `listener` with each wake-up this replica receives. */
  listen(listener: (jobId: string) => void): Promise<void>;
  stop(): void;
}

const MAX_AGE_NS = 3_600 * 1e9; // a wake-up older than an hour is moot; the reconciler redoes it
const DUPLICATE_WINDOW_NS = 120 * 1e9;

export async function openWakeStream(nc: NatsConnection, prefix: string): Promise<WakeStream> {
  const stream = `${prefix}_wake`;
  const subject = `${prefix}.wake`;
  const durable = `${prefix}_runners`;
  const jsm = await jetstreamManager(nc);
  await jsm.streams
    .add({
      name: stream,
      subjects: [subject],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      max_age: MAX_AGE_NS,
      duplicate_window: DUPLICATE_WINDOW_NS,
    })
    .catch(async (err: unknown) => {
      // Made before (another replica, an older Forge): use it as it is.
      if (!(await jsm.streams.info(stream).catch(() => null))) throw err;
    });
  await jsm.consumers
    .add(stream, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: 30 * 1e9,
    })
    .catch(async (err: unknown) => {
      if (!(await jsm.consumers.info(stream, durable).catch(() => null))) throw err;
    });
  const js = jetstream(nc);
  let messages: ConsumerMessages | null = null;
  let stopped = false;
  return {
    announce(jobId, revision) {
      const h = headers();
      h.set('Nats-Msg-Id', `${jobId}.${revision}`);
      try {
        nc.publish(subject, jobId, { headers: h });
      } catch {
        // The connection is closing: the reconciler of whoever stays will wake someone.
      }
    },
    async listen(listener) {
      const consumer = await js.consumers.get(stream, durable);
      const loop = async () => {
        while (!stopped) {
          try {
            messages = await consumer.consume({ max_messages: 100 });
            for await (const m of messages) {
              m.ack(); // at once: a wake-up is never held
              try {
                listener(m.string());
              } catch {
                // A listener's failure is its own.
              }
            }
          } catch {
            // The connection dropped or the consumer went away: try again shortly.
          }
          if (nc.isClosed()) return;
          if (!stopped) await new Promise((r) => setTimeout(r, 1000).unref());
        }
      };
      void loop();
    },
    stop() {
      stopped = true;
      messages?.stop();
    },
  };
}
