import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startGroup } from './process-group.ts';

describe('startGroup', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'forge-process-group-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('refuses to start the agent when the wrapper cannot join the cgroup', async () => {
    let cleanedUp = false;
    const starting = startGroup({
      argv: ['sh', '-c', 'echo the agent ran'],
      cwd: root,
      env: { PATH: '/usr/bin:/bin' },
      stdin: 'ignore',
      cgroup: join(root, 'no-such-cgroup'),
      labels: { jobId: 'process-group-test', attempt: 1 },
      signal: new AbortController().signal,
      cleanup: () => {
        cleanedUp = true;
        return Promise.resolve();
      },
    });
    await expect(starting).rejects.toMatchObject({
      code: 'unavailable',
      message: expect.stringContaining('could not join the cgroup') as unknown,
    });
    expect(cleanedUp).toBe(true);
  });
});
