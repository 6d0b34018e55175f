import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isAlive, startForge, stopAllForges, type JobJson } from '../support/forge-server.ts';

afterAll(stopAllForges);

interface Tick {
  job: string;
  attempt: number;
  pid: number;
  tick?: number;
  start?: number;
  end?: number;
}

function ticks(file: string): Tick[] {
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Tick);
}

describe('recovery', () => {
  it('after kill -9 mid-run, a restart finishes every job, numbers attempts contiguously and never overlaps them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'forge-recovery-'));
    const record = join(dir, 'ticks.jsonl');
    const config = {
      limits: { max_concurrent: 2 },
      defaults: { agent: 'script', max_retries: 2, inactivity_timeout: '30s', max_duration: '1m' },
    };
    const first = await startForge({ config });
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(await first.submit(`record ${record}; pid; ticks 30 50`));
    await first.waitFor(ids[1]!, (j) => /pid \d+/.test(j.attempts[0]?.output ?? ''));
    const before = await Promise.all(ids.map((id) => first.job(id)));
    const orphanPids = before
      .flatMap((j) => j.attempts.map((a) => Number(/pid (\d+)/.exec(a.output)?.[1] ?? 0)))
      .filter(Boolean);
    expect(orphanPids.length).toBeGreaterThan(0);
    await first.stop('SIGKILL');

    const second = await startForge({ config, dataDir: first.dataDir });
    const after: JobJson[] = [];
    for (const id of ids) after.push(await second.waitFor(id));
    for (const pid of orphanPids) expect(isAlive(pid)).toBe(false);
    for (const job of after) {
      expect(job.status).toBe('SUCCEEDED');
      expect(job.attempts.map((a) => a.number)).toEqual(job.attempts.map((_, i) => i + 1));
      for (const a of job.attempts.slice(0, -1)) expect(a.failure?.category).toBe('interrupted');
    }
    expect(after.some((j) => j.attempts.length > 1)).toBe(true);
    // No overlap: every tick of an attempt comes before the first tick of the next attempt.
    const all = ticks(record);
    for (const id of ids) {
      const mine = all.filter((t) => t.job === id && t.tick !== undefined);
      const attempts = [...new Set(mine.map((t) => t.attempt))].sort();
      for (let i = 1; i < attempts.length; i++) {
        const lastOfPrev = Math.max(
          ...mine.filter((t) => t.attempt === attempts[i - 1]).map((t) => t.tick!),
        );
        const firstOfNext = Math.min(
          ...mine.filter((t) => t.attempt === attempts[i]).map((t) => t.tick!),
        );
        expect(lastOfPrev).toBeLessThan(firstOfNext);
      }
    }
    await second.stop();
  });

  it('a job whose retries are used up when the server dies ends FAILED interrupted after restart', async () => {
    const config = {
      defaults: { agent: 'script', max_retries: 0, inactivity_timeout: '30s', max_duration: '1m' },
    };
    const first = await startForge({ config });
    const id = await first.submit('pid; sleep 30000');
    await first.waitFor(id, (j) => /pid \d+/.test(j.attempts[0]?.output ?? ''));
    await first.stop('SIGKILL');
    const second = await startForge({ config, dataDir: first.dataDir });
    const job = await second.waitFor(id);
    expect(job.status).toBe('FAILED');
    expect(job.failure?.category).toBe('interrupted');
    expect(job.failure?.message).toMatch(/server/);
    await second.stop();
  });

  it('keeps records identical across a clean restart', async () => {
    const first = await startForge();
    const ids = [
      await first.submit('print one'),
      await first.submit('exit 4'),
      await first.submit('print three', { tags: ['x'] }),
    ];
    const before = await Promise.all(ids.map((id) => first.waitFor(id)));
    const listBefore = (await first.api('GET', '/jobs')).body;
    await first.stop('SIGTERM');
    expect(first.proc.exitCode).toBe(0);
    const second = await startForge({ dataDir: first.dataDir });
    const after = await Promise.all(ids.map((id) => second.job(id)));
    expect(after).toEqual(before);
    expect((await second.api('GET', '/jobs')).body).toEqual(listBefore);
    await second.stop();
  });

  it('SIGTERM lets a short attempt finish, and a long one is released and run again after restart', async () => {
    const config = {
      runner: { lease: '3s', poll_interval: '200ms', retry_backoff: '100ms', shutdown_grace: '1s' },
      defaults: { agent: 'script', max_retries: 1, inactivity_timeout: '30s', max_duration: '1m' },
    };
    const first = await startForge({ config });
    const short = await first.submit('pid; sleep 300; print short done');
    const long = await first.submit('pid; fail-on 2 9; sleep 20000');
    await first.waitFor(long, (j) => /pid \d+/.test(j.attempts[0]?.output ?? ''));
    await first.waitFor(short, (j) => /pid \d+/.test(j.attempts[0]?.output ?? ''));
    await first.stop('SIGTERM');
    expect(first.proc.exitCode).toBe(0);
    const second = await startForge({ config, dataDir: first.dataDir });
    const shortJob = await second.job(short);
    expect(shortJob.status).toBe('SUCCEEDED');
    expect(shortJob.attempts).toHaveLength(1);
    const longJob = await second.waitFor(long);
    expect(longJob.attempts[0]!.failure?.category).toBe('interrupted');
    expect(longJob.attempts).toHaveLength(2);
    await second.stop();
  });
});
