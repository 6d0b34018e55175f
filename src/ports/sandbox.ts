/** What the sandbox should run and how it may reach the world. */
export interface SandboxSpec {
  /** argv; argv[0] is resolved on `env.PATH` by the sandbox. */
  command: string[];
  /** Working directory: the attempt's workspace. The only place (with `tmpDir`) it may write. */
  cwd: string;
  /** The complete environment of the process; nothing is inherited from the server. */
  env: Record<string, string>;
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
  labels: { jobId: string; attempt: number };
}

export interface SandboxExit {
  /** null when killed by a signal. */
  exitCode: number | null;
  signal: string | null;
}

export interface SandboxRun {
  /** Durable handle (e.g. `pid:1234`) stored with the attempt, for `reap` after a crash. */
  readonly ref: string;
  /** Merged stdout+stderr in the order written; ends when the process closes its output. */
  readonly output: AsyncIterable<Buffer>;
  /** Resolves once the process (tree) has exited; never rejects. */
  readonly exited: Promise<SandboxExit>;
  /** Things the person reading the job's output must know (e.g. "running unisolated"). */
  readonly notices: string[];
}

export type { DoctorCheck } from './doctor-check.ts';
import type { DoctorCheck } from './doctor-check.ts';

/** Where an attempt runs. Aborting `signal` must stop the whole process tree within a second;
 *  `exited` still resolves and output read so far stays readable. `start` rejects with
 *  ForgeError('unavailable') when the sandbox cannot start (that becomes failure `sandbox`). */
export interface Sandbox {
  readonly kind: string;
  /** What attempts record as their `sandbox` (e.g. `local`, `local+srt`). */
  readonly label: string;
  start(spec: SandboxSpec, signal: AbortSignal): Promise<SandboxRun>;
  /** Kills whatever is left of an attempt whose runner died. Must not kill anything that is not
   *  that attempt's (pids are reused). Never throws. */
  reap(ref: string, labels: { jobId: string; attempt: number }): Promise<void>;
  /** Self-checks for `forge doctor`. */
  doctor(): Promise<DoctorCheck[]>;
}
