/**
 * One attempt's worker as the shared watch sees it: its Job and pods, what was deleted, and the
 * `failed` promise of a LaunchedWorker, settled once from pod-failures.ts.
 *
 * What a pod shows, and the Job's deadline, settle at once. A deletion, or a Job failed for
 * another reason, is judged only after `settleMs`: pods and Jobs come over two watches, in no
 * guaranteed order, so the Job controller's deletion of a late Job's pods may arrive before the
 * Job's DeadlineExceeded, and a Job's BackoffLimitExceeded before the pod's OOMKilled that caused
 * it.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import type { SandboxLabels } from '../../../ports/sandbox.ts';
import type { LaunchFailure } from '../remote/worker-launcher.ts';
import type { KubeWatch, WatchEvent } from './kube-watch.ts';
import { launchFailure, podsFailure, type AttemptObjects } from './pod-failures.ts';

export interface WatchedWorkerOptions {
  watch: KubeWatch;
  labels: SandboxLabels;
  namespace: string;
  /** How long a deletion waits for the Job status to explain it (default 2 s). */
  settleMs?: number;
  /** Turns a failure into its final message (e.g. adds the worker's last log lines). */
  enrich?: (failure: LaunchFailure, objects: AttemptObjects) => Promise<LaunchFailure>;
}

export class WatchedWorker {
  readonly failed: Promise<LaunchFailure>;
  private resolveFailed: (failure: LaunchFailure) => void = () => undefined;
  private settled = false;
  /** Forge itself is deleting the worker: its disappearance is no failure. */
  private stopping = false;
  private readonly deletedPods = new Map<string, KubernetesObject>();
  private lastJob: KubernetesObject | null = null;
  private jobDeleted = false;
  private settleTimer: NodeJS.Timeout | null = null;
  private readonly unsubscribe: () => void;
  private readonly opts: WatchedWorkerOptions;

  constructor(opts: WatchedWorkerOptions) {
    this.opts = opts;
    this.failed = new Promise((resolve) => (this.resolveFailed = resolve));
    this.unsubscribe = opts.watch.subscribe(opts.labels, (event) => this.seen(event));
  }

  /** Judges what the caches hold now (after `watch.ready()`, when attaching). */
  check(): void {
    const current = this.opts.watch.jobs(this.opts.labels)[0];
    if (current) this.lastJob = current;
    this.evaluate();
  }

  objects(): AttemptObjects {
    const { watch, labels, namespace } = this.opts;
    return {
      job: this.jobDeleted ? this.lastJob : (watch.jobs(labels)[0] ?? this.lastJob),
      pods: watch.pods(labels),
      deletedPods: [...this.deletedPods.values()],
      jobDeleted: this.jobDeleted,
      namespace,
    };
  }

  markStopping(): void {
    this.stopping = true;
    this.dispose();
  }

  dispose(): void {
    this.unsubscribe();
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.settleTimer = null;
  }

  private seen(event: WatchEvent): void {
    if (event.kind === 'job') {
      this.lastJob = event.object;
      if (event.type === 'delete') this.jobDeleted = true;
    } else if (event.type === 'delete') {
      this.deletedPods.set(
        event.object.metadata?.uid ?? String(this.deletedPods.size),
        event.object,
      );
    }
    this.evaluate();
  }

  private evaluate(): void {
    if (this.settled || this.stopping) return;
    const objects = this.objects();
    const found = podsFailure(objects);
    if (found) return this.settle(found, objects);
    if (!launchFailure(objects) || this.settleTimer) return;
    this.settleTimer = setTimeout(() => {
      this.settleTimer = null;
      if (this.settled || this.stopping) return;
      const late = this.objects();
      const failure = launchFailure(late);
      if (failure) this.settle(failure, late);
    }, this.opts.settleMs ?? 2000);
  }

  private settle(failure: LaunchFailure, objects: AttemptObjects): void {
    this.settled = true;
    const enrich = this.opts.enrich ?? ((f: LaunchFailure) => Promise.resolve(f));
    enrich(failure, objects).then(
      (final) => this.resolveFailed(final),
      () => this.resolveFailed(failure),
    );
  }
}
