/**
 * A NATS store of N finished jobs for the list benchmark. Going through the store's API (three
 * compare-and-sets per job, one round trip each) would take minutes at 100,000 jobs, so three
 * template jobs are made through the real store (succeeded, failed, cancelled) and their entries
 * copied under fresh ids straight into the jobs bucket, many writes in flight: the bucket then
 * holds exactly what Forge writes, in the same 70/20/10 mix as the SQLite seed.
 */
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { monotonicFactory } from 'ulid';
import type { JobEntry } from '../src/adapters/store/job-entry.ts';
import { createNatsStore } from '../src/adapters/store/nats/nats-store.ts';
import { benchSpec, SEED_OUTPUT } from './seed-store.ts';

const IN_FLIGHT = 2_000;

export async function seedNats(
  url: string,
  prefix: string,
  jobs: number,
  log: (m: string) => void,
): Promise<{ seconds: number }> {
  const t0 = Date.now();
  const templates = await makeTemplates(url, `${prefix}tpl`);
  const nc = await connect({ servers: url });
  try {
    const kv = await new Kvm(nc).create(`${prefix}_jobs`, { history: 1 });
    const ulid = monotonicFactory();
    const start = Date.now() - jobs * 1000;
    let pending: Promise<unknown>[] = [];
    for (let i = 0; i < jobs; i++) {
      const template =
        i % 10 === 9 ? templates.cancelled : i % 10 < 2 ? templates.failed : templates.ok;
      const entry = structuredClone(template);
      const id = ulid(start + i * 1000);
      entry.job.id = id;
      entry.job.task = benchSpec(i).task;
      entry.job.tags = benchSpec(i).tags;
      pending.push(kv.create(id, JSON.stringify(entry)));
      if (pending.length >= IN_FLIGHT) {
        await Promise.all(pending);
        pending = [];
      }
      if ((i + 1) % 20_000 === 0) log(`seeded ${i + 1}/${jobs} NATS jobs`);
    }
    await Promise.all(pending);
  } finally {
    await nc.close();
  }
  return { seconds: (Date.now() - t0) / 1000 };
}

/** One job of each kind through the real store; their entries as stored. */
async function makeTemplates(url: string, prefix: string) {
  const store = createNatsStore({ url, prefix });
  const entryOf = async (id: string): Promise<JobEntry> => {
    const nc = await connect({ servers: url });
    try {
      const kv = await new Kvm(nc).open(`${prefix}_jobs`);
      return (await kv.get(id))!.json<JobEntry>();
    } finally {
      await nc.close();
    }
  };
  try {
    const finished = async (failed: boolean) => {
      const { job } = await store.create(benchSpec(0));
      const claim = (await store.claim('seed', 60_000, 'local'))!;
      await store.finish(
        { job_id: job.id, attempt: claim.attempt },
        'seed',
        {
          exit_code: failed ? 1 : 0,
          output: SEED_OUTPUT,
          truncated: false,
          failure: failed
            ? { category: 'agent_error', message: 'the agent exited with code 1' }
            : null,
        },
        failed
          ? {
              status: 'FAILED',
              failure: { category: 'agent_error', message: 'the agent exited with code 1' },
            }
          : { status: 'SUCCEEDED' },
      );
      return entryOf(job.id);
    };
    const ok = await finished(false);
    const failed = await finished(true);
    const { job } = await store.create(benchSpec(0));
    await store.cancel(job.id, { category: 'cancelled', message: 'cancelled on request' });
    return { ok, failed, cancelled: await entryOf(job.id) };
  } finally {
    await store.close();
  }
}
