/**
 * Several `forge serve` replicas on one real nats-server share one queue and one job history:
 * jobs submitted to any replica run once each somewhere, a cancel sent to one replica stops the
 * job wherever it runs, and any replica shows any job and its output.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startForge, stopAllForges, type ForgeProcess } from '../support/forge-server.ts';
import { startNatsServer, type NatsServer } from '../support/nats-server.ts';
import { until } from '../support/intake-world.ts';

let nats: NatsServer;
const replicas: ForgeProcess[] = [];

beforeAll(async () => {
  nats = await startNatsServer();
  const config = {
    store: { kind: 'nats', url: nats.url, prefix: 'replicas' },
    limits: { max_concurrent: 2 },
  };
  for (let i = 0; i < 3; i++) replicas.push(await startForge({ config }));
}, 60_000);

afterAll(async () => {
  await stopAllForges();
  await nats.stop();
});

interface Tick {
  job: string;
  attempt: number;
  pid: number;
  start?: number;
  end?: number;
}

describe('replicas on NATS', () => {
  it('runs jobs submitted round-robin once each, never two attempts of one job at once', async () => {
    const record = join(mkdtempSync(join(tmpdir(), 'forge-replicas-')), 'spans.jsonl');
    const ids: string[] = [];
    for (let i = 0; i < 200; i++)
      ids.push(await replicas[i % 3]!.submit(`record ${record}; print job ${i}`));
    const jobs = await Promise.all(
      ids.map((id, i) => replicas[(i + 1) % 3]!.waitFor(id, undefined, 90_000)),
    );
    expect(jobs.map((j) => j.status)).toEqual(ids.map(() => 'SUCCEEDED'));
    for (const job of jobs) expect(job.attempts.map((a) => a.number)).toEqual([1]);
    const ticks = readFileSync(record, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Tick);
    // Every job started exactly once, by one process.
    const starts = ticks.filter((t) => t.start !== undefined);
    expect(starts.map((t) => t.job).sort()).toEqual([...ids].sort());
    // limits.max_concurrent (2) holds across the three replicas, not per replica.
    expect(mostAtOnce(ticks)).toBeLessThanOrEqual(2);
  }, 120_000);

  it('a cancel sent to any replica stops the job wherever it runs, and every replica sees it', async () => {
    const [a, b, c] = replicas as [ForgeProcess, ForgeProcess, ForgeProcess];
    const id = await a.submit('print started; sleep 30000');
    await b.waitFor(
      id,
      (j) => j.status === 'RUNNING' && j.attempts[0]!.output.includes('started'),
      30_000,
    );
    const res = await c.api('POST', `/jobs/${id}/cancel`);
    expect(res.status).toBe(200);
    const done = await a.waitFor(
      id,
      (j) => j.status === 'CANCELLED' && j.attempts[0]!.finished_at !== undefined,
      30_000,
    );
    expect(done.attempts[0]!.output).toContain('started');
    for (const r of replicas) expect((await r.job(id)).status).toBe('CANCELLED');
  }, 60_000);

  it('every replica streams a job live, whichever runs it, to its end', async () => {
    const [a, b, c] = replicas as [ForgeProcess, ForgeProcess, ForgeProcess];
    const id = await a.submit('print alpha; sleep 800; print omega');
    await a.waitFor(id, (j) => j.status === 'RUNNING');
    const streams = await Promise.all(
      [b, c].map(async (r) => (await fetch(`${r.url}/jobs/${id}/events`)).text()),
    );
    for (const stream of streams) {
      expect(stream).toContain('alpha');
      expect(stream).toContain('omega');
      expect(stream).toContain('SUCCEEDED');
    }
  }, 30_000);

  it("any replica serves a job's full log, whichever ran it", async () => {
    const [a, b, c] = replicas as [ForgeProcess, ForgeProcess, ForgeProcess];
    const id = await a.submit('print first line; print second line');
    await b.waitFor(id);
    for (const r of [a, b, c]) {
      const log = await r.api<string>('GET', `/jobs/${id}/log`);
      expect(log.status).toBe(200);
      expect(log.body).toContain('first line');
      expect(log.body).toContain('second line');
    }
  }, 30_000);

  it('nats-server restarted mid-run: the replicas reconnect and every job still ends', async () => {
    const [a, b] = replicas as [ForgeProcess, ForgeProcess];
    const ids: string[] = [];
    for (let i = 0; i < 4; i++)
      ids.push(
        await replicas[i % 3]!.submit(`sleep 1500; print after the restart ${i}`, {
          max_retries: 2,
        }),
      );
    await until(
      async () =>
        (await Promise.all(ids.map((id) => a.job(id)))).filter((j) => j.status === 'RUNNING')
          .length,
      (n) => n > 0,
      'a job running',
    );
    await nats.restart();
    const jobs = await Promise.all(ids.map((id) => b.waitFor(id, undefined, 90_000)));
    for (const job of jobs) expect(['SUCCEEDED', 'FAILED', 'CANCELLED']).toContain(job.status);
    // Nothing is lost: every job ran to the end on some attempt.
    expect(jobs.filter((j) => j.status === 'SUCCEEDED').length).toBe(jobs.length);
  }, 120_000);

  // Last: it kills a replica.
  it('kill -9 of a replica mid-run: the others recover its jobs within the lease, none lost or stuck', async () => {
    const [a, b, c] = replicas as [ForgeProcess, ForgeProcess, ForgeProcess];
    const ids: string[] = [];
    for (let i = 0; i < 8; i++)
      ids.push(
        await replicas[i % 3]!.submit(`sleep 1500; print survived ${i}`, { max_retries: 1 }),
      );
    // Kill whichever replica first runs an agent (a child process of its own); watch from another.
    const runsAgent = (r: ForgeProcess) =>
      childrenOf(r.proc.pid!).some((pid) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('scripted-agent');
        } catch {
          return false;
        }
      });
    const victim = (await until(
      () => [a, b, c].find(runsAgent) ?? null,
      (r) => r !== null,
      'a replica running an agent',
    ))!;
    const observer = [a, b, c].find((r) => r !== victim)!;
    await victim.stop('SIGKILL');
    const jobs = await Promise.all(ids.map((id) => observer.waitFor(id, undefined, 90_000)));
    expect(jobs.map((j) => j.status)).toEqual(ids.map(() => 'SUCCEEDED'));
    for (const job of jobs) {
      const numbers = job.attempts.map((t) => t.number);
      expect(numbers).toEqual(numbers.map((_, i) => i + 1));
    }
    // What the killed replica ran was interrupted there and finished by a retry elsewhere.
    expect(jobs.some((j) => j.attempts[0]!.failure?.category === 'interrupted')).toBe(true);
  }, 120_000);
});

/** Most spans (agent start → end) open at once. */
function mostAtOnce(ticks: Tick[]): number {
  const edges = ticks
    .flatMap((t) =>
      t.start !== undefined ? [[t.start, 1]] : t.end !== undefined ? [[t.end, -1]] : [],
    )
    .sort((x, y) => x[0]! - y[0]! || x[1]! - y[1]!);
  let open = 0;
  let most = 0;
  for (const [, step] of edges) most = Math.max(most, (open += step!));
  return most;
}

/** Pids descending from `pid` (the server, the Node it may re-exec, and what that runs). */
function childrenOf(pid: number): number[] {
  const direct = readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
  return direct.flatMap((child) => [child, ...childrenOf(child)]);
}
