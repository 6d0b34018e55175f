/**
 * A sandbox whose runs the test drives by hand: it says what the "agent" prints and when it
 * exits, and sees when Forge aborts it. With the in-memory store it lets the runner be tested in
 * milliseconds, without processes.
 */
import type { AgentAdapter } from '../../src/ports/agent.ts';
import type {
  Sandbox,
  SandboxExit,
  SandboxLabels,
  SandboxRun,
  SandboxSpec,
} from '../../src/ports/sandbox.ts';

export interface ScriptedRun {
  spec: SandboxSpec;
  /** Prints a line. */
  print: (line: string) => void;
  /** The agent exits with `code`; its output ends. */
  exit: (code: number) => void;
  /** Resolves when Forge aborted the run. */
  aborted: Promise<void>;
  /** Set when the run was aborted: the reason Forge gave. */
  abortReason: () => unknown;
  /** Holds the exit after an abort until `release()` (a tree that is slow to die). */
  holdExit: () => void;
  release: () => void;
  /** Resolves once the run's `exited` resolved. */
  ended: Promise<SandboxExit>;
}

export interface ScriptedSandbox extends Sandbox {
  /** Runs in start order. */
  runs: ScriptedRun[];
  /** Resolves with the n-th run (0-based) once it started. */
  run: (n: number) => Promise<ScriptedRun>;
}

export interface ScriptedSandboxOptions {
  /** Its attempts outlive their server (like a worker pod): `adopt` re-attaches to the refs in
   *  this set, as new runs in `runs`, and answers null for any other. */
  adoptable?: Set<string>;
  /** What it holds on its platform, by attempt (`job/attempt`): `collectOrphans` removes the
   *  entries whose attempt is not live, and calls `collected` after each round. */
  held?: Map<string, SandboxLabels>;
  collected?: () => void;
}

export function createScriptedSandbox(opts: ScriptedSandboxOptions = {}): ScriptedSandbox {
  const runs: ScriptedRun[] = [];
  const waiters = new Map<number, (run: ScriptedRun) => void>();
  const sandbox: ScriptedSandbox = {
    kind: 'scripted',
    label: 'scripted',
    runs,
    run: (n) =>
      runs[n] ? Promise.resolve(runs[n]) : new Promise((resolve) => waiters.set(n, resolve)),
    start(spec, signal) {
      const run = scriptedRun(spec, signal);
      runs.push(run.script);
      waiters.get(runs.length - 1)?.(run.script);
      return Promise.resolve(run.handle);
    },
    reap: () => Promise.resolve(),
    alive: () => Promise.resolve(false),
    doctor: () => Promise.resolve([]),
  };
  const { held } = opts;
  if (held) {
    sandbox.collectOrphans = async (live) => {
      let removed = 0;
      for (const [key, labels] of [...held]) {
        if (await live(labels)) continue;
        held.delete(key);
        removed++;
      }
      opts.collected?.();
      return removed;
    };
  }
  const { adoptable } = opts;
  if (adoptable) {
    sandbox.adopt = (ref, attempt, signal) => {
      if (!adoptable.has(ref)) return Promise.resolve(null);
      const spec: SandboxSpec = {
        command: [],
        cwd: attempt.cwd,
        env: {},
        tmpDir: attempt.tmpDir,
        writable: [],
        allowedDomains: [],
        denyRead: [],
        labels: attempt.labels,
      };
      const run = scriptedRun(spec, signal);
      runs.push(run.script);
      waiters.get(runs.length - 1)?.(run.script);
      return Promise.resolve(run.handle);
    };
  }
  return sandbox;
}

function scriptedRun(
  spec: SandboxSpec,
  signal: AbortSignal,
): { script: ScriptedRun; handle: SandboxRun } {
  const lines: Buffer[] = [];
  let wake: (() => void) | null = null;
  let ended = false;
  let held = false;
  let exitWith: SandboxExit | null = null;
  let settle: (exit: SandboxExit) => void = () => {};
  const exited = new Promise<SandboxExit>((resolve) => (settle = resolve));
  const finish = (exit: SandboxExit) => {
    exitWith = exit;
    ended = true;
    wake?.();
    if (!held) settle(exit);
  };
  let onAbort: () => void = () => {};
  const aborted = new Promise<void>((resolve) => (onAbort = resolve));
  const abort = () => {
    onAbort();
    finish({ exitCode: null, signal: 'SIGKILL' });
  };
  if (signal.aborted) abort();
  else signal.addEventListener('abort', abort, { once: true });
  async function* output(): AsyncGenerator<Buffer> {
    for (;;) {
      while (lines.length) yield lines.shift()!;
      if (ended) return;
      await new Promise<void>((resolve) => (wake = resolve));
      wake = null;
    }
  }
  const script: ScriptedRun = {
    spec,
    print: (line) => {
      lines.push(Buffer.from(`${line}\n`));
      wake?.();
    },
    exit: (code) => finish({ exitCode: code, signal: null }),
    aborted,
    abortReason: () => (signal.aborted ? (signal.reason as unknown) : undefined),
    holdExit: () => (held = true),
    release: () => {
      held = false;
      if (exitWith) settle(exitWith);
    },
    ended: exited,
  };
  return {
    script,
    handle: {
      ref: `scripted:${spec.labels.jobId}/${spec.labels.attempt}`,
      output: output(),
      exited,
      notices: [],
    },
  };
}

/** An agent whose command the scripted sandbox ignores; it reports `COST <usd>` lines as cost. */
export function scriptedAgent(): AgentAdapter {
  return {
    kind: 'scripted',
    prepare: () =>
      Promise.resolve({
        command: ['scripted-agent'],
        env: {},
        installHint: 'nothing to install',
        parser: {
          line: (raw) => {
            const cost = /^COST (\d+(?:\.\d+)?)$/.exec(raw);
            return cost
              ? { display: [raw], report: { cost_usd: Number(cost[1]) } }
              : { display: [raw] };
          },
        },
      }),
    doctor: () => Promise.resolve([]),
  };
}
