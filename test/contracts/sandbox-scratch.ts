// Scratch directories, specs and output readers shared by the sandbox contract and the tests of
// each sandbox adapter.
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type {
  Sandbox,
  SandboxExit,
  SandboxLabels,
  SandboxRun,
  SandboxSpec,
} from '../../src/ports/sandbox.ts';

export const TEST_PATH = '/usr/local/bin:/usr/bin:/bin';

export interface Scratch {
  root: string;
  cwd: string;
  tmpDir: string;
  /** Labels of every spec made here; the leak guard asks the sandbox about each. */
  labels: SandboxLabels[];
}

export async function makeScratch(): Promise<Scratch> {
  const root = await mkdtemp(join(tmpdir(), 'forge-sandbox-test-'));
  await mkdir(join(root, 'workspace'));
  await mkdir(join(root, 'tmp'));
  return { root, cwd: join(root, 'workspace'), tmpDir: join(root, 'tmp'), labels: [] };
}

export function makeSpec(
  scratch: Scratch,
  command: string[],
  more: Partial<SandboxSpec> = {},
): SandboxSpec {
  const spec: SandboxSpec = {
    command,
    cwd: scratch.cwd,
    tmpDir: scratch.tmpDir,
    writable: [],
    allowedDomains: [],
    denyRead: [],
    labels: { jobId: `contract-${randomUUID()}`, attempt: 1 },
    ...more,
    env: { PATH: TEST_PATH, ...more.env },
  };
  scratch.labels.push(spec.labels);
  return spec;
}

/** Asks the sandbox until the attempt has no process left; false if some are still there after
 *  `ms`. The port promises a second after abort, and `exited` waits for the tree, so callers
 *  pass a bound they can defend. */
export async function goneWithin(
  sandbox: Sandbox,
  labels: SandboxLabels,
  ms: number,
): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (await sandbox.alive(labels)) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

/** Reads a run to its end. */
export async function finish(run: SandboxRun): Promise<{ output: string; exit: SandboxExit }> {
  const chunks: Buffer[] = [];
  for await (const chunk of run.output) chunks.push(chunk);
  return { output: Buffer.concat(chunks).toString('utf8'), exit: await run.exited };
}

/** Reads a run's output incrementally. */
export function reader(run: SandboxRun) {
  const iterator = run.output[Symbol.asyncIterator]();
  let text = '';
  return {
    text: () => text,
    /** Reads until the output contains `needle`; false if it ended first. */
    async until(needle: string): Promise<boolean> {
      while (!text.includes(needle)) {
        const next = await iterator.next();
        if (next.done) return false;
        text += next.value.toString('utf8');
      }
      return true;
    },
    async rest(): Promise<string> {
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
        text += next.value.toString('utf8');
      }
      return text;
    },
  };
}
