/**
 * A Sandbox whose attempts run in a `forge worker` somewhere else (a Kubernetes pod, a warm
 * agent-sandbox pod, a local process in tests), started by a WorkerLauncher. The core does not
 * know: it prepared the workspace and the agent's files here as for a local attempt, reads the
 * output from `output`, watches budget, inactivity and max duration, and commits and pushes from
 * the workspace after `exited` — by which time the worker's result bundle has been applied to it.
 *
 * `start` makes what the worker will fetch (the spec with paths relative to the attempt
 * directory and without the secrets it takes from its own environment, and a bundle of the
 * workspace), registers the attempt for the worker routes, and launches the worker with a token
 * for this attempt only. The attempt ends (`exited`) when the worker reports its exit; or, with
 * a failure the person can act on, when it never calls home by `startTimeoutMs` (`sandbox`,
 * naming the address it was given and what the platform says), when the launcher reports it
 * failed, or when its heartbeats stop (`interrupted`). Aborting `signal` tells the worker at once
 * (it kills the agent and uploads its work) and ends the attempt within `cancelGraceMs` whatever
 * the worker does; the launcher then stops the worker and removes what it made.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { formatDuration } from '../../../domain/duration.ts';
import { ForgeError, isForgeError } from '../../../domain/errors.ts';
import type { Sandbox, SandboxLabels, SandboxRun, SandboxSpec } from '../../../ports/sandbox.ts';
import { requireDirectory } from '../spec-checks.ts';
import { attemptToken } from './attempt-token.ts';
import { collectAttemptFiles } from './attempt-files.ts';
import { LiveAttempt, SPEC_FILE, TAKEN_FILE } from './live-attempt.ts';
import type { AttemptSpec } from './protocol.ts';
import type { RemoteAttempts } from './remote-attempts.ts';
import { applyResultBundle } from './result-bundle.ts';
import type { LaunchedWorker, WorkerLauncher } from './worker-launcher.ts';
import { createWorkspaceBundle, describeWorkspace } from './workspace-bundle.ts';

export interface RemoteSandboxOptions {
  launcher: WorkerLauncher;
  /** The registry the worker routes look attempts up in (the same object the HTTP app gets). */
  attempts: RemoteAttempts;
  /** Forge's address as workers dial it (e.g. http://forge.forge.svc:7700). */
  workerUrl: string;
  /** How long a worker may take to call home before the attempt fails as `sandbox`. */
  startTimeoutMs: number;
  /** Variables the worker takes from its own environment rather than from Forge (model
   *  credentials from the profile's Secret); their values are never sent. PATH is always one:
   *  the worker's image knows where its programs are. */
  inheritEnv?: string[];
  /** How often the worker calls at least (default 5 s); three missed: `interrupted`. */
  heartbeatMs?: number;
  /** How long a cancelled worker gets to upload its work (default 800 ms). */
  cancelGraceMs?: number;
  /** Largest attempt used when the spec carries no max duration (default 24 h). */
  defaultMaxDurationMs?: number;
  /** PATH to find git on for bundles (default /usr/local/bin:/usr/bin:/bin). */
  gitPath?: string;
}

export function createRemoteSandbox(opts: RemoteSandboxOptions): Sandbox {
  const { launcher, attempts } = opts;
  const inherit = [...new Set(['PATH', ...(opts.inheritEnv ?? [])])];
  const git = opts.gitPath ? { path: opts.gitPath } : {};
  return {
    kind: launcher.kind,
    label: launcher.label,
    async start(spec, signal) {
      const live = await prepare(spec, dirname(spec.cwd));
      register(live);
      const launched = await launch(live, spec);
      watch(live, launched, signal);
      return {
        ref: launched.ref,
        output: live.output,
        exited: live.exited,
        notices: [`running in a ${launcher.label} worker (${launched.ref})`],
      } satisfies SandboxRun;
    },
    async alive(labels) {
      if (attempts.get(labels)) return true;
      const held = await launcher.held().catch(() => []);
      return held.some(
        (h) => h.labels.jobId === labels.jobId && h.labels.attempt === labels.attempt,
      );
    },
    async reap(ref, labels) {
      await launcher.stop(ref, labels).catch(() => undefined);
    },
    doctor: () => launcher.doctor(),

    /** Re-attaches after a restart: the same attempt, token and worker; the worker, retrying all
     *  along, calls this server again and resends its output from what the core last took in. */
    async adopt(ref, attempt, signal) {
      const scratchDir = join(dirname(attempt.cwd), 'remote');
      const saved = await readFile(join(scratchDir, SPEC_FILE), 'utf8').catch(() => null);
      if (saved === null) return null;
      const taken = Number(await readFile(join(scratchDir, TAKEN_FILE), 'utf8').catch(() => '0'));
      const spec = { ...(JSON.parse(saved) as AttemptSpec), output_acked: taken || 0 };
      const launched = await launcher.follow(ref, attempt.labels).catch(() => null);
      if (!launched) return null;
      const live = liveAttempt(attempt.labels, spec, attempt.cwd, scratchDir);
      register(live);
      watch(live, launched, signal, true);
      return {
        ref,
        output: live.output,
        exited: live.exited,
        notices: [],
      } satisfies SandboxRun;
    },

    async collectOrphans(live) {
      let removed = 0;
      for (const held of await launcher.held().catch(() => [])) {
        if (attempts.get(held.labels) || (await live(held.labels).catch(() => true))) continue;
        await launcher.stop(held.ref, held.labels).catch(() => undefined);
        removed++;
      }
      return removed;
    },
  };

  /** Makes the attempt reachable by the worker routes until it ends. */
  function register(live: LiveAttempt): void {
    attempts.add(live);
    live.whenEnded(() => {
      attempts.remove(live);
      // A copy of the whole repository: not worth keeping once the worker is done with it.
      if (live.workspaceBundle) void rm(live.workspaceBundle, { force: true });
    });
  }

  async function launch(live: LiveAttempt, spec: SandboxSpec): Promise<LaunchedWorker> {
    try {
      return await launcher.launch({
        labels: live.labels,
        url: opts.workerUrl,
        token: attemptToken(attempts.secret(), live.labels),
        maxDurationMs: spec.maxDurationMs ?? opts.defaultMaxDurationMs ?? 24 * 3_600_000,
        ...(spec.pod ? { pod: spec.pod } : {}),
      });
    } catch (err) {
      await live.end({ exitCode: null, signal: null });
      if (isForgeError(err)) throw err;
      throw new ForgeError('unavailable', `could not launch the worker: ${(err as Error).message}`);
    }
  }

  /** Ends the attempt on the launcher's word, the start deadline, silence or a stop; stops the
   *  worker once it ended. */
  function watch(
    live: LiveAttempt,
    launched: LaunchedWorker,
    signal: AbortSignal,
    reattached = false,
  ): void {
    const onAbort = () => live.cancel();
    void launched.failed.then((failure) => live.end({ exitCode: null, signal: null, failure }));
    live.startDeadline(
      opts.startTimeoutMs,
      async () => {
        const said = await launched.describe().catch(() => null);
        const verb = reattached ? 'call back after Forge restarted' : 'call home';
        return `the worker did not ${verb} to ${opts.workerUrl} within ${formatDuration(opts.startTimeoutMs)}; check that it can reach that address (DNS, NetworkPolicy, sandbox.worker_url)${said ? `; ${launcher.kind} says: ${said}` : ''}`;
      },
      reattached ? 'interrupted' : 'sandbox',
    );
    live.watchHeartbeats();
    live.whenEnded(() => {
      signal.removeEventListener('abort', onAbort);
      launched.dispose();
      void launcher.stop(launched.ref, live.labels);
    });
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  }

  /** Everything the worker will fetch, made before it is launched. */
  async function prepare(spec: SandboxSpec, root: string): Promise<LiveAttempt> {
    await requireDirectory(spec.cwd, 'workspace');
    const inside = (path: string, what: string): string => {
      const rel = relative(root, path);
      if (rel === '' || rel.startsWith('..') || rel.startsWith(sep))
        throw new ForgeError(
          'unavailable',
          `the ${what} ${path} is outside the attempt directory ${root}; a remote worker gets only what is under it`,
        );
      return rel;
    };
    for (const dir of spec.writable) inside(dir, 'writable directory');
    const scratchDir = join(root, 'remote');
    await mkdir(scratchDir, { recursive: true });
    const workspace = await describeWorkspace(spec.cwd, opts.gitPath).catch((err: unknown) => {
      throw new ForgeError(
        'unavailable',
        `could not read the workspace: ${(err as Error).message}`,
      );
    });
    const bundle = workspace ? join(scratchDir, WORKSPACE_BUNDLE) : null;
    if (bundle)
      await createWorkspaceBundle(spec.cwd, bundle, opts.gitPath).catch((err: unknown) => {
        throw new ForgeError(
          'unavailable',
          `could not bundle the workspace: ${(err as Error).message}`,
        );
      });
    const stdin = spec.stdinFile
      ? await readFile(spec.stdinFile).catch(() => {
          throw new ForgeError(
            'unavailable',
            `the agent's standard input ${spec.stdinFile} is not a readable file; it must be written before the agent starts`,
          );
        })
      : null;
    const heartbeatMs = opts.heartbeatMs ?? 5_000;
    const attemptSpec: AttemptSpec = {
      job_id: spec.labels.jobId,
      attempt: spec.labels.attempt,
      root,
      command: spec.command,
      env: Object.fromEntries(Object.entries(spec.env).filter(([k]) => !inherit.includes(k))),
      inherit_env: inherit,
      stdin_base64: stdin ? stdin.toString('base64') : null,
      cwd: inside(spec.cwd, 'workspace'),
      tmp_dir: inside(spec.tmpDir, 'temporary directory'),
      ...(await collectAttemptFiles(
        root,
        spec.writable,
        undefined,
        (spec.carry ?? []).map((path) => join(spec.cwd, path)),
      )),
      workspace,
      output_acked: 0,
      heartbeat_ms: heartbeatMs,
    };
    // Kept for a server that re-attaches after a restart (`adopt`); private to Forge.
    await writeFile(join(scratchDir, SPEC_FILE), JSON.stringify(attemptSpec), { mode: 0o600 });
    return liveAttempt(spec.labels, attemptSpec, spec.cwd, scratchDir);
  }

  /** The live attempt for `spec`, started or re-attached: its bundle (if the workspace has a
   *  repository) in `scratchDir`, its result applied to `cwd`. */
  function liveAttempt(
    labels: SandboxLabels,
    spec: AttemptSpec,
    cwd: string,
    scratchDir: string,
  ): LiveAttempt {
    return new LiveAttempt({
      labels,
      spec,
      workspaceBundle: spec.workspace ? join(scratchDir, WORKSPACE_BUNDLE) : null,
      scratchDir,
      applyResult: async (file) => {
        await applyResultBundle(cwd, file, git);
      },
      heartbeatMs: spec.heartbeat_ms,
      cancelGraceMs: opts.cancelGraceMs ?? 800,
    });
  }
}

const WORKSPACE_BUNDLE = 'workspace.bundle';
