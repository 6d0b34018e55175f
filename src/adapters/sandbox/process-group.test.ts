import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startGroup } from './process-group.ts';
import { findSpawnHelper } from './spawn-helper/helper-binary.ts';
import { SpawnHelper } from './spawn-helper/spawn-helper.ts';

const built = findSpawnHelper();
if (!built.ok) throw new Error(built.reason);
const helper = new SpawnHelper(built.path);

describe.each([
  ['forge-spawn', helper],
  ["Node's spawn", null],
] as const)('startGroup through %s', (_, spawner) => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'forge-process-group-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('refuses to start the agent when its process cannot join the cgroup', async () => {
    let cleanedUp = false;
    const starting = startGroup({
      argv: ['sh', '-c', 'echo the agent ran'],
      cwd: root,
      env: { PATH: '/usr/bin:/bin' },
      stdin: null,
      cgroup: join(root, 'no-such-cgroup'),
      labels: { jobId: 'process-group-test', attempt: 1 },
      signal: new AbortController().signal,
      helper: spawner,
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
