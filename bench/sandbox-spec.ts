/** A sandbox spec for benchmarks that drive the local sandbox directly: a workspace and a tmp
 *  directory under `dir`, the benchmark environment, no network, and labels of its own. */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { SandboxSpec } from '../src/ports/sandbox.ts';
import { benchEnv } from './processes.ts';

export async function benchSandboxSpec(
  dir: string,
  command: string[],
  name: string,
): Promise<SandboxSpec> {
  const cwd = join(dir, 'workspace');
  const tmpDir = join(dir, 'tmp');
  await mkdir(cwd, { recursive: true });
  await mkdir(tmpDir, { recursive: true });
  return {
    command,
    cwd,
    env: benchEnv(),
    tmpDir,
    writable: [],
    allowedDomains: [],
    denyRead: [],
    labels: { jobId: `bench-${name}-${dir.split('/').pop()}`, attempt: 1 },
  };
}
