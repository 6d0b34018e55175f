import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startForge, stopAllForges } from '../support/forge-server.ts';

afterAll(stopAllForges);

interface Span {
  job: string;
  attempt: number;
  start?: number;
  end?: number;
}

function spans(file: string): Map<string, { start: number; end: number }> {
  const byJob = new Map<string, { start: number; end: number }>();
  for (const line of readFileSync(file, 'utf8').trim().split('\n')) {
    const s = JSON.parse(line) as Span;
    const entry = byJob.get(s.job) ?? { start: 0, end: 0 };
    if (s.start) entry.start = s.start;
    if (s.end) entry.end = s.end;
    byJob.set(s.job, entry);
  }
  return byJob;
}

describe('scheduling', () => {
  it('never runs more than max_concurrent jobs at once and starts them in FIFO order', async () => {
    const forge = await startForge({ config: { limits: { max_concurrent: 2 } } });
    const record = join(mkdtempSync(join(tmpdir(), 'forge-sched-')), 'spans.jsonl');
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) ids.push(await forge.submit(`record ${record}; sleep 150`));
    for (const id of ids) expect((await forge.waitFor(id)).status).toBe('SUCCEEDED');

    const byJob = spans(record);
    const events = [...byJob.values()].flatMap((s) => [
      { t: s.start, d: 1 },
      { t: s.end, d: -1 },
    ]);
    events.sort((a, b) => a.t - b.t || a.d - b.d);
    let live = 0;
    let peak = 0;
    for (const e of events) peak = Math.max(peak, (live += e.d));
    expect(peak).toBeLessThanOrEqual(2);
    expect(peak).toBe(2);

    const started = [...byJob.entries()]
      .sort((a, b) => a[1].start - b[1].start)
      .map(([job]) => job);
    // Two slots: jobs start in pairs, and every job starts no later than any job submitted after the next one.
    for (let i = 0; i + 2 < ids.length; i++)
      expect(started.indexOf(ids[i]!)).toBeLessThan(started.indexOf(ids[i + 2]!));
    const records = await Promise.all(ids.map((id) => forge.job(id)));
    const startTimes = records.map((r) => Date.parse(r.attempts[0]!.started_at as string));
    for (let i = 1; i < startTimes.length; i++)
      expect(startTimes[i]!).toBeGreaterThanOrEqual(startTimes[i - 1]!);
    await forge.stop();
  });
});
