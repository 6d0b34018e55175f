/**
 * Where a remote attempt's `forge worker` runs: a Kubernetes Job, a warm agent-sandbox pod, or (in
 * tests) a local process. The remote sandbox (remote-sandbox.ts) owns the attempt — its token, its
 * spec and workspace, its output and its result bundle, all over the worker protocol; a launcher
 * only starts the worker somewhere that can dial home, watches the platform for reasons it will
 * never run or died, and stops it.
 */
import type { PodPlacement } from '../../../domain/job.ts';
import type { DoctorCheck } from '../../../ports/doctor-check.ts';
import type { SandboxLabels } from '../../../ports/sandbox.ts';

/** What a launcher needs to start one attempt's worker. */
export interface WorkerAssignment {
  labels: SandboxLabels;
  /** Forge's worker endpoint as the worker must dial it (e.g. http://forge.forge.svc:7700). */
  url: string;
  /** The attempt's bearer token: valid for this attempt only. A launcher hands it over without
   *  writing it into anything others can read (a per-attempt Secret, never a Job's spec). */
  token: string;
  /** The attempt's wall-clock limit; the platform's own hard kill is set a little after it. */
  maxDurationMs: number;
  /** The job's profile's placement and resources, over the launcher's own. */
  pod?: PodPlacement;
}

/** Why the platform says a worker will not run, or stopped: a line a person can act on. */
export interface LaunchFailure {
  /** `sandbox`: it never ran (image, scheduling, config) or ran out of its memory limit (OOM:
   *  raise the limit); `interrupted`: it died under the attempt (eviction, node lost) and the job
   *  may be retried; `max_duration`: the platform's deadline killed it. */
  category: 'sandbox' | 'interrupted' | 'max_duration';
  message: string;
}

export interface LaunchedWorker {
  /** Durable handle stored with the attempt (e.g. `k8s:forge-workers/forge-01j…-1`). */
  readonly ref: string;
  /** Resolves when the platform reports the worker failed or is gone; never resolves while it is
   *  fine, never rejects. */
  readonly failed: Promise<LaunchFailure>;
  /** What the platform last said about the worker, for a failure message when it never called
   *  home in time (`pod Pending: 0/3 nodes are available: 3 Insufficient memory`, or the last
   *  line the worker printed, which names the address it tried). Null when there is nothing. */
  describe(): Promise<string | null>;
  /** Stops watching (the worker itself is stopped with `stop`). */
  dispose(): void;
}

export interface WorkerLauncher {
  /** `kubernetes`, `agent-sandbox`, … */
  readonly kind: string;
  /** What attempts record as their `sandbox`. */
  readonly label: string;
  /** Starts the attempt's worker. Resolves once the platform accepted it; rejects with
   *  ForgeError('unavailable') (a `sandbox` failure) when it cannot, saying why. */
  launch(assignment: WorkerAssignment): Promise<LaunchedWorker>;
  /** Follows a worker started before this server restarted (re-attach); null when the platform
   *  no longer has it. */
  follow(ref: string, labels: SandboxLabels): Promise<LaunchedWorker | null>;
  /** Stops the attempt's worker and removes what was created for it. Never throws. */
  stop(ref: string, labels: SandboxLabels): Promise<void>;
  /** Every attempt the platform still holds something for (to collect what no live attempt
   *  owns). */
  held(): Promise<{ ref: string; labels: SandboxLabels }[]>;
  doctor(): Promise<DoctorCheck[]>;
}
