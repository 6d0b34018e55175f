import { rm } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { createLocalSandbox } from '../../src/adapters/sandbox/local-sandbox.ts';
import { sandboxContract } from './sandbox.contract.ts';
import { finish, makeScratch, makeSpec } from './sandbox-scratch.ts';

sandboxContract('local sandbox, isolation none', () =>
  Promise.resolve(createLocalSandbox({ isolation: 'none' })),
);
// Where forge-spawn is not built (no C compiler at install), or is turned off.
sandboxContract("local sandbox, isolation none, Node's spawn", () =>
  Promise.resolve(createLocalSandbox({ isolation: 'none', spawn: 'node' })),
);
// What runs on hosts that do not let Forge create cgroups (most containers).
sandboxContract('local sandbox, isolation none, without cgroups', () =>
  Promise.resolve(createLocalSandbox({ isolation: 'none', cgroups: 'off' })),
);

describe('local sandbox, isolation none', () => {
  it('says loudly that the agent runs unisolated', async () => {
    const warnings: string[] = [];
    const sandbox = createLocalSandbox({
      isolation: 'none',
      onWarning: (msg) => warnings.push(msg),
    });
    const scratch = await makeScratch();
    try {
      const run = await sandbox.start(makeSpec(scratch, ['true']), new AbortController().signal);
      await finish(run);
      expect(sandbox.label).toBe('local');
      expect(run.notices.join('\n')).toMatch(/warning: running unisolated/);
      expect(warnings.join('\n')).toMatch(/warning: running unisolated/);
      expect((await sandbox.doctor()).map((check) => check.name)).toEqual([
        'sandbox isolation',
        'per-attempt cgroups',
        'process helper',
      ]);
      expect((await sandbox.doctor())[0]?.level).toBe('warn');
    } finally {
      await rm(scratch.root, { recursive: true, force: true });
    }
  });

  it('says once per run, and in doctor, that without cgroups some processes may survive', async () => {
    const sandbox = createLocalSandbox({ isolation: 'none', cgroups: 'off' });
    const scratch = await makeScratch();
    try {
      const run = await sandbox.start(makeSpec(scratch, ['true']), new AbortController().signal);
      await finish(run);
      const about = run.notices.filter((notice) => notice.includes('cgroup'));
      expect(about).toHaveLength(1);
      expect(about[0]).toMatch(/clear their environment may survive/);
      expect(run.ref).toMatch(/^pid:\d+$/);
      const check = (await sandbox.doctor()).find((c) => c.name === 'per-attempt cgroups');
      expect(check).toMatchObject({ ok: false, level: 'warn' });
    } finally {
      await rm(scratch.root, { recursive: true, force: true });
    }
  });
});
