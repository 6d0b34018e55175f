/**
 * The Job controller: creates a Job's pods from its template (name `<job>-<5 chars>`, the job-name
 * and controller-uid labels, an owner reference), counts their outcomes, retries failed pods up to
 * backoffLimit, and finishes the Job with the conditions a real cluster sets: SuccessCriteriaMet +
 * Complete, or FailureTarget + Failed with reason BackoffLimitExceeded or DeadlineExceeded (after
 * activeDeadlineSeconds, killing the pods). ttlSecondsAfterFinished deletes a finished Job.
 * restartPolicy OnFailure is treated like Never (a failed pod is replaced, not restarted).
 */
import { now, type Change, type ObjectStore } from './object-store.ts';
import type { Condition, Job, JobStatus, Pod } from './pod-types.ts';
import {
  apiVersionOf,
  JOBS,
  PODS,
  type KubeObject,
  type PropagationPolicy,
  type ResourceType,
} from './resources.ts';

export interface JobControllerOptions {
  store: ObjectStore;
  /** Delay before a failed pod is replaced (the real controller backs off from 10s). */
  podRetryDelayMs: number;
  deleteObject(
    type: ResourceType,
    namespace: string,
    name: string,
    options: { propagationPolicy: PropagationPolicy },
  ): void;
  /** Why admission refuses the pod (see admission.ts); null to create it. */
  admitPod(pod: Pod): string | null;
  event(obj: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

interface Tracking {
  succeeded: Set<string>;
  failed: Set<string>;
  timers: NodeJS.Timeout[];
  retryAt?: number;
}

export class JobController {
  private readonly tracking = new Map<string, Tracking>();
  private readonly unsubscribe: () => void;

  private readonly opts: JobControllerOptions;

  constructor(opts: JobControllerOptions) {
    this.opts = opts;
    this.unsubscribe = opts.store.onChange((c) => this.onChange(c));
  }

  private onChange(c: Change): void {
    const meta = c.object.metadata;
    if (c.resource === JOBS) {
      if (c.type === 'DELETED') return this.forget(meta.uid ?? '');
      return this.later(meta.namespace ?? '', meta.name);
    }
    if (c.resource !== PODS) return;
    const owner = meta.ownerReferences?.find((r) => r.kind === 'Job' && r.controller);
    if (!owner) return;
    const t = this.tracking.get(owner.uid);
    const phase = (c.object as Pod).status?.phase;
    // A pod deleted before it finished counts as failed, unless the Job's suspension deleted it.
    const suspended = (
      this.opts.store.get(JOBS, meta.namespace ?? '', owner.name) as Job | undefined
    )?.spec.suspend;
    if (t && c.type === 'DELETED' && phase !== 'Succeeded' && phase !== 'Failed' && !suspended)
      t.failed.add(meta.uid ?? '');
    this.later(meta.namespace ?? '', owner.name);
  }

  private later(namespace: string, name: string): void {
    setImmediate(() => this.sync(namespace, name));
  }

  private sync(namespace: string, name: string): void {
    const job = this.opts.store.get(JOBS, namespace, name) as Job | undefined;
    if (!job || job.metadata.deletionTimestamp) return;
    const uid = job.metadata.uid ?? '';
    let t = this.tracking.get(uid);
    if (!t) this.tracking.set(uid, (t = { succeeded: new Set(), failed: new Set(), timers: [] }));
    const status: JobStatus = structuredClone(job.status ?? {});
    if (finished(status)) return;
    const pods = (this.opts.store.list(PODS, namespace) as Pod[]).filter((p) =>
      p.metadata.ownerReferences?.some((r) => r.uid === uid),
    );
    for (const p of pods) {
      if (p.status?.phase === 'Succeeded') t.succeeded.add(p.metadata.uid ?? '');
      if (p.status?.phase === 'Failed') t.failed.add(p.metadata.uid ?? '');
    }
    const active = pods.filter(
      (p) =>
        !['Succeeded', 'Failed'].includes(p.status?.phase ?? '') && !p.metadata.deletionTimestamp,
    );
    const spec = job.spec;
    if (spec.suspend) this.suspend(job, status, active);
    else this.advance(job, status, t, active);
    const done = finished(status);
    const counts = {
      active: done ? 0 : active.length,
      succeeded: t.succeeded.size,
      failed: t.failed.size,
    };
    for (const [k, v] of Object.entries(counts) as Array<[keyof typeof counts, number]>) {
      if (v > 0) status[k] = v;
      else delete status[k];
    }
    status.ready = done
      ? 0
      : active.filter((p) =>
          p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
        ).length;
    status.terminating = pods.filter((p) => p.metadata.deletionTimestamp).length;
    status.uncountedTerminatedPods = {};
    this.opts.store.mutate(JOBS, namespace, name, (o) => void (o.status = status));
    if (done && spec.ttlSecondsAfterFinished !== undefined) {
      t.timers.push(setTimeout(() => this.expire(job), spec.ttlSecondsAfterFinished * 1000));
    }
  }

  /** A suspended Job runs no pods: active ones are deleted and the Suspended condition says so. */
  private suspend(job: Job, status: JobStatus, active: Pod[]): void {
    if (!isTrue(status, 'Suspended')) {
      status.conditions = upsert(
        status.conditions,
        cond('Suspended', 'JobSuspended', 'Job suspended'),
      );
      this.opts.event(job, 'Normal', 'Suspended', 'Job suspended');
    }
    for (const p of active) {
      this.opts.deleteObject(PODS, job.metadata.namespace ?? '', p.metadata.name, {
        propagationPolicy: 'Background',
      });
    }
  }

  /** Starts the clock (again, after a resume), then completes, fails, or makes pods. */
  private advance(job: Job, status: JobStatus, t: Tracking, active: Pod[]): void {
    const { namespace = '', name } = job.metadata;
    const spec = job.spec;
    const resumed = isTrue(status, 'Suspended');
    if (resumed) {
      status.conditions = upsert(status.conditions, {
        ...cond('Suspended', 'JobResumed', 'Job resumed'),
        status: 'False',
      });
      this.opts.event(job, 'Normal', 'Resumed', 'Job resumed');
    }
    if (!status.startTime || resumed) {
      status.startTime = now();
      if (spec.activeDeadlineSeconds !== undefined) {
        t.timers.push(
          setTimeout(() => this.sync(namespace, name), spec.activeDeadlineSeconds * 1000),
        );
      }
    }
    const completions = spec.completions ?? 1;
    const overDeadline =
      spec.activeDeadlineSeconds !== undefined &&
      Date.now() - Date.parse(status.startTime) >= spec.activeDeadlineSeconds * 1000;
    if (t.succeeded.size >= completions) {
      const message = 'Reached expected number of succeeded pods';
      status.conditions = upsert(
        upsert(status.conditions, cond('SuccessCriteriaMet', 'CompletionsReached', message)),
        cond('Complete', 'CompletionsReached', message),
      );
      status.completionTime = now();
      this.opts.event(job, 'Normal', 'Completed', 'Job completed');
    } else if (overDeadline || t.failed.size > (spec.backoffLimit ?? 6)) {
      const [reason, message] = overDeadline
        ? ['DeadlineExceeded', 'Job was active longer than specified deadline']
        : ['BackoffLimitExceeded', 'Job has reached the specified backoff limit'];
      status.conditions = upsert(
        upsert(status.conditions, cond('FailureTarget', reason, message)),
        cond('Failed', reason, message),
      );
      for (const p of active)
        this.opts.deleteObject(PODS, namespace, p.metadata.name, {
          propagationPolicy: 'Background',
        });
      this.opts.event(job, 'Warning', reason, message);
    } else {
      this.startPods(
        job,
        t,
        Math.min(spec.parallelism ?? 1, completions - t.succeeded.size) - active.length,
      );
    }
  }

  private startPods(job: Job, t: Tracking, count: number): void {
    if (count <= 0) return;
    const delay = t.failed.size > 0 ? this.opts.podRetryDelayMs : 0;
    if (delay > 0 && (t.retryAt === undefined || Date.now() < t.retryAt)) {
      if (t.retryAt === undefined) {
        t.retryAt = Date.now() + delay;
        t.timers.push(
          setTimeout(() => this.sync(job.metadata.namespace ?? '', job.metadata.name), delay),
        );
      }
      return;
    }
    t.retryAt = undefined;
    for (let i = 0; i < count; i++) {
      const template = job.spec.template;
      const pod: Pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: '',
          generateName: `${job.metadata.name}-`,
          namespace: job.metadata.namespace,
          labels: { ...template.metadata?.labels },
          ...(template.metadata?.annotations
            ? { annotations: { ...template.metadata.annotations } }
            : {}),
          ownerReferences: [
            {
              apiVersion: apiVersionOf(JOBS),
              kind: 'Job',
              name: job.metadata.name,
              uid: job.metadata.uid ?? '',
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
        spec: structuredClone(template.spec),
      };
      const refused = this.opts.admitPod(pod);
      if (refused)
        return this.opts.event(job, 'Warning', 'FailedCreate', `Error creating: ${refused}`);
      const made = this.opts.store.create(PODS, pod);
      this.opts.event(job, 'Normal', 'SuccessfulCreate', `Created pod: ${made.metadata.name}`);
    }
  }

  private expire(job: Job): void {
    const current = this.opts.store.get(JOBS, job.metadata.namespace ?? '', job.metadata.name);
    if (current?.metadata.uid !== job.metadata.uid) return;
    this.opts.deleteObject(JOBS, job.metadata.namespace ?? '', job.metadata.name, {
      propagationPolicy: 'Background',
    });
  }

  private forget(uid: string): void {
    this.tracking.get(uid)?.timers.forEach(clearTimeout);
    this.tracking.delete(uid);
  }

  close(): void {
    this.unsubscribe();
    for (const uid of [...this.tracking.keys()]) this.forget(uid);
  }
}

function isTrue(status: JobStatus, type: string): boolean {
  return (status.conditions ?? []).some((c) => c.type === type && c.status === 'True');
}

/** Replaces the condition of the same type, keeping its lastTransitionTime when its status holds. */
function upsert(conditions: Condition[] | undefined, next: Condition): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === next.type);
  if (i < 0) return [...list, next];
  const old = list[i]!;
  if (old.status === next.status && old.reason === next.reason) return list;
  list[i] = next;
  return list;
}

function finished(status: JobStatus): boolean {
  return (status.conditions ?? []).some(
    (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
  );
}

function cond(type: string, reason: string, message: string): Condition {
  const t = now();
  return { type, status: 'True', reason, message, lastProbeTime: t, lastTransitionTime: t };
}
