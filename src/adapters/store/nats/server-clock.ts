/**
 * Leases judged on the NATS server's clock. Every replica writes lease expiries and job times in
 * server time: its own wall clock plus an offset measured against the timestamp the server puts
 * on a KV entry it has just written (halfway through the round trip, like NTP). Replicas whose
 * clocks disagree by minutes still agree on when a lease ran out, to within a round trip.
 * Re-measured every minute, so a local clock that is stepped or drifts is followed.
 */
import type { KV } from '@nats-io/kv';
import type { Clock } from '../../../ports/store.ts';

const CLOCK_KEY = 'server_clock';

/** The server's time minus `local()`, in ms. */
export async function measureOffset(keys: KV, local: Clock): Promise<number> {
  const sent = local();
  const revision = await keys.put(CLOCK_KEY, String(sent));
  const entry = await keys.get(CLOCK_KEY, { revision });
  const received = local();
  if (!entry) return 0;
  return entry.created.getTime() - (sent + received) / 2;
}

export interface ServerClock {
  now: Clock;
  /** Measures the offset now; keeps re-measuring every `everyMs` until stopped. */
  follow(keys: KV, everyMs?: number): Promise<void>;
  stop(): void;
}

export function serverClock(local: Clock): ServerClock {
  let offset = 0;
  let timer: NodeJS.Timeout | null = null;
  const measure = async (keys: KV) => {
    offset = await measureOffset(keys, local);
  };
  return {
    now: () => Math.round(local() + offset),
    async follow(keys, everyMs = 60_000) {
      await measure(keys);
      if (timer) clearInterval(timer);
      timer = setInterval(() => void measure(keys).catch(() => undefined), everyMs);
      timer.unref();
    },
    stop: () => {
      if (timer) clearInterval(timer);
      timer = null;
    },
  };
}
