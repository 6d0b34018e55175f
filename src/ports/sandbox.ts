import type { Failure } from '../domain/failure.ts';
import type { PodPlacement } from '../domain/job.ts';

/** What the sandbox should run and how it may reach the world. */
export interface SandboxSpec {
  /** argv; argv[0] is resolved on `env.PATH` by the sandbox (against `cwd` when it holds a `/`). */
  command: string[];
  /** Working directory: the attempt's workspace. The only place (with `tmpDir`) it may write. */
  cwd: string;
  /** The complete environment of the process; nothing is inherited from the server. */
  env: Record<string, string>;
  /** A file whose contents become the process's standard input (absent or null: empty input).
   *  The sandbox reads it itself, so it need not be readable by the isolated process. */
  stdinFile?: string | null;
  /** A private temporary directory for this attempt. */
  tmpDir: string;
  /** Further directories the process may write when isolated (the attempt's private home and
   *  agent config). */
  writable: string[];
  /** Network destinations the process may reach when isolated (empty: none). */
  allowedDomains: string[];
  /** Paths the process must not read when isolated (the server's data, secrets in home). */
  denyRead: string[];
  /** Identifies the attempt; lets `reap` verify a process is really this attempt's. */
  labels: SandboxLabels;
  /** The attempt's wall-clock limit. Forge enforces it itself; a remote sandbox also sets the
   *  platform's own hard deadline a little after it. */
  maxDurationMs?: number;
  /** The job's profile's pod placement, for sandboxes that run attempts in pods. */
  pod?: PodPlacement;
  /** Files Forge put in the workspace beside the checkout, outside git (a steward's notes), as
   *  paths relative to `cwd`: a sandbox that rebuilds the workspace elsewhere from its commits
   *  must bring them along, and bring back what the agent left in their place. */
  carry?: string[];
}

/** Names one attempt of one job. */
export interface SandboxLabels {
  jobId: string;
  attempt: number;
}

export interface SandboxExit {
  /** null when killed by a signal. */
  exitCode: number | null;
  signal: string | null;
  /** Set when the sandbox itself knows why the attempt ended badly (a worker that never started,
   *  a pod evicted under it, the platform's deadline); it becomes the attempt's failure unless
   *  Forge stopped the attempt itself. */
  failure?: Failure;
}

export interface SandboxRun {
  /** Durable handle stored with the attempt, for `reap` after a crash. Opaque to the core (the
   *  local sandbox writes `pid:1234`, or `pid:1234 cgroup:/sys/fs/cgroup/forge-…`). */
  readonly ref: string;
  /** Merged stdout+stderr in the order written. Ends when the process closes its output, or at
   *  the latest shortly after the agent's main process has exited, even if something it left
   *  behind still holds the output open. */
  readonly output: AsyncIterable<Buffer>;
  /** Resolves once the process (tree) has exited; never rejects. */
  readonly exited: Promise<SandboxExit>;
  /** Things the person reading the job's output must know (e.g. "running unisolated"). */
  readonly notices: string[];
}

export type { DoctorCheck } from './doctor-check.ts';
import type { DoctorCheck } from './doctor-check.ts';

/** Where an attempt runs. Aborting `signal` must stop the whole process tree within a second;
 *  `exited` still resolves and output read so far stays readable. When the agent's main process
 *  exits, the sandbox stops whatever of the attempt it can find (what an adapter guarantees
 *  there is its own to document), and `output` ends soon after even if something it could not
 *  find holds the output open.
 *
 *  `start` rejects with ForgeError('not_found') when argv[0] cannot be found or executed on
 *  `spec.env.PATH` — the sandbox's PATH, not the server's — so the core never looks for agent
 *  programs itself. A program that is found but then fails to run (say, the interpreter named on
 *  its `#!` line is missing) is the agent failing: it exits 126 or 127 with the reason in its
 *  output. `start` rejects with ForgeError('unavailable') when the sandbox cannot start (that
 *  becomes failure `sandbox`), `stdinFile` being unreadable included. */
export interface Sandbox {
  readonly kind: string;
  /** What attempts record as their `sandbox` (e.g. `local`, `local+srt`). */
  readonly label: string;
  start(spec: SandboxSpec, signal: AbortSignal): Promise<SandboxRun>;
  /** True while any process of that attempt is running, as far as this sandbox can tell (a
   *  process that hid from it counts as gone). Never throws. */
  alive(labels: SandboxLabels): Promise<boolean>;
  /** Kills whatever is left of an attempt whose runner died. Must not kill anything that is not
   *  that attempt's (pids are reused). A `ref` it cannot use still reaps by `labels`. Never throws. */
  reap(ref: string, labels: SandboxLabels): Promise<void>;
  /** Self-checks for `forge doctor`. */
  doctor(): Promise<DoctorCheck[]>;
  /**
   * Only for sandboxes whose attempts outlive the server that started them (a worker pod that
   * dials home): re-attaches to a running attempt a previous server started, after the store's
   * `adopt` gave this server its lease. The run's output continues from the first byte the
   * previous server did not take in; `exited` and abort behave as for `start`. Null when the
   * attempt is gone (then the runner closes it as interrupted).
   */
  adopt?(ref: string, attempt: AdoptedRun, signal: AbortSignal): Promise<SandboxRun | null>;
  /**
   * Only for sandboxes that hold things on a platform (Jobs, Secrets, claims): removes what it
   * holds for attempts that are not live (`live` asks the store whether the attempt is still
   * open), e.g. left by a server that died before cleaning up. Returns how many it removed.
   * Never throws.
   */
  collectOrphans?(live: (labels: SandboxLabels) => Promise<boolean>): Promise<number>;
}

/** What a re-attached run needs from the attempt it continues. */
export interface AdoptedRun {
  labels: SandboxLabels;
  /** The attempt's workspace, as `start` was given it in `cwd`. */
  cwd: string;
  /** The attempt's private temporary directory, as `start` was given it in `tmpDir`. */
  tmpDir: string;
}
