/**
 * The fake node: schedules each new pod (see scheduler.ts), "pulls" its images from the
 * configured set, prepares env and volumes (container-config.ts), and runs each container's
 * command + args as a local child process in its own process group; stdout and stderr are the
 * pod's log. Status goes back to the API as the kubelet's would (pod-status.ts).
 *
 * The one liberty with reality: a local process cannot see container paths, so mount paths are
 * rewritten to temp dirs in command, args, workingDir and env values (container-config.ts), and
 * HOME is set only when the pod or image sets it.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  mountsOf,
  mountVolumes,
  resolveEnv,
  rewritePaths,
  storeLookup,
} from './container-config.ts';
import { commandLine, runProcess, signalGroup, workdir } from './container-process.ts';
import { imageEnvironment, invalidImageMessage, pullError, type ImageSpec } from './images.ts';
import { LogBuffer } from './log-buffer.ts';
import { now, type Change, type ObjectStore } from './object-store.ts';
import type { Container, Pod } from './pod-types.ts';
import { initialModel, renderPodStatus, type ContainerModel, type PodModel } from './pod-status.ts';
import { CONFIGMAPS, PODS, SECRETS, type KubeObject } from './resources.ts';
import { unschedulableReason, type NodeShape } from './scheduler.ts';

export type { ImageSpec } from './images.ts';

export interface KubeletOptions {
  store: ObjectStore;
  images: Record<string, ImageSpec>;
  node: NodeShape & { name: string };
  /** How long ErrImagePull shows before ImagePullBackOff. */
  imagePullBackOffMs: number;
  /** Replaces every pod's terminationGracePeriodSeconds (tests: 1), when set; a DELETE's gracePeriodSeconds still wins. */
  terminationGracePeriodSeconds?: number;
  event(obj: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void;
  changed(): void;
}

interface Run {
  uid: string;
  namespace: string;
  name: string;
  root: string;
  model: PodModel;
  /** 'preparing' has exactly one prepare() queued or in flight; 'waiting' retries on a Secret/ConfigMap change when waitingOnConfig. */
  stage: 'unscheduled' | 'preparing' | 'waiting' | 'running' | 'finished';
  waitingOnConfig: boolean;
  procs: Map<string, ChildProcess>;
  killed: Map<string, 'OOMKilled'>;
  terminating: boolean;
  timers: NodeJS.Timeout[];
}

export class Kubelet {
  private readonly runs = new Map<string, Run>();
  /** Container logs by pod name, kept after the pod is gone so tests can read a killed process's output. */
  readonly logs = new Map<string, Map<string, LogBuffer>>();
  private readonly unsubscribe: () => void;
  private closed = false;

  private readonly opts: KubeletOptions;

  constructor(opts: KubeletOptions) {
    this.opts = opts;
    this.unsubscribe = opts.store.onChange((c) => this.onChange(c));
  }

  private onChange(c: Change): void {
    const obj = c.object;
    if (c.resource === PODS && c.type === 'ADDED') this.admit(obj as Pod);
    if (c.resource === PODS && c.type === 'DELETED') this.forget(obj.metadata.uid ?? '');
    if ((c.resource === SECRETS || c.resource === CONFIGMAPS) && c.type !== 'DELETED') {
      for (const run of this.runs.values()) {
        if (
          run.stage !== 'waiting' ||
          !run.waitingOnConfig ||
          run.namespace !== obj.metadata.namespace
        )
          continue;
        run.stage = 'preparing';
        this.later(() => this.prepare(run));
      }
    }
  }

  /** Runs `task` after the current store dispatch, reporting failures instead of dropping them. */
  private later(task: () => Promise<void> | void): void {
    setImmediate(() => {
      Promise.resolve()
        .then(task)
        .catch((err: unknown) => console.error('fake kubelet:', err));
    });
  }

  private admit(pod: Pod): void {
    const run: Run = {
      uid: pod.metadata.uid ?? '',
      namespace: pod.metadata.namespace ?? 'default',
      name: pod.metadata.name,
      root: '',
      stage: 'unscheduled',
      model: initialModel(pod),
      procs: new Map(),
      killed: new Map(),
      terminating: false,
      waitingOnConfig: false,
      timers: [],
    };
    this.runs.set(run.uid, run);
    this.logs.set(
      run.name,
      new Map(
        pod.spec.containers
          .concat(pod.spec.initContainers ?? [])
          .map((c) => [c.name, new LogBuffer(() => this.opts.changed())]),
      ),
    );
    this.later(() => this.schedule(run));
  }

  private pod(run: Run): Pod | undefined {
    return this.opts.store.get(PODS, run.namespace, run.name) as Pod | undefined;
  }

  /** Writes the model as the pod's status (and `spec` edits), unless the pod is gone. */
  private write(run: Run, spec?: (pod: Pod) => void): void {
    const current = this.pod(run);
    if (!current || current.metadata.uid !== run.uid) return;
    this.opts.store.mutate(PODS, run.namespace, run.name, (obj) => {
      const pod = obj as Pod;
      spec?.(pod);
      pod.status = renderPodStatus(run.model, pod.status);
    });
  }

  private schedule(run: Run): void {
    const pod = this.pod(run);
    if (!pod || run.stage !== 'unscheduled') return;
    const bound = [...this.runs.values()]
      .filter((r) => r.stage !== 'unscheduled' && r.stage !== 'finished')
      .map((r) => this.pod(r))
      .filter((p): p is Pod => p !== undefined);
    const reason = unschedulableReason(pod, bound, this.opts.node);
    if (reason) {
      if (run.model.unschedulable !== reason) {
        run.model.unschedulable = reason;
        this.write(run);
        this.opts.event(pod, 'Warning', 'FailedScheduling', reason);
      }
      return;
    }
    run.stage = 'preparing';
    run.model.scheduled = true;
    delete run.model.unschedulable;
    this.write(run, (p) => (p.spec.nodeName = this.opts.node.name));
    this.opts.event(
      pod,
      'Normal',
      'Scheduled',
      `Successfully assigned ${run.namespace}/${run.name} to ${this.opts.node.name}`,
    );
    this.later(() => this.prepare(run));
  }

  /** Retries pods that did not fit, oldest first (capacity freed or node made schedulable). */
  reschedule(): void {
    for (const run of this.runs.values()) if (run.stage === 'unscheduled') this.schedule(run);
  }

  private setWaiting(run: Run, c: ContainerModel, reason: string, message?: string): void {
    c.state = { waiting: { reason, ...(message ? { message } : {}) } };
    this.write(run);
  }

  /** Pulls images, mounts volumes, resolves env; starts containers when all of that succeeds. */
  private async prepare(run: Run): Promise<void> {
    const pod = this.pod(run);
    if (!pod || run.stage !== 'preparing' || run.terminating || this.closed) return;
    run.waitingOnConfig = false;
    const all = [...run.model.init, ...run.model.main];
    this.checkPullSecrets(pod);
    const specs = [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
    for (const c of all) {
      const invalid = invalidImageMessage(c.image);
      if (invalid) {
        this.opts.event(pod, 'Warning', 'InspectFailed', invalid);
        run.stage = 'waiting';
        return this.setWaiting(run, c, 'InvalidImageName', invalid);
      }
      if (this.opts.images[c.image]) continue;
      if (specs.find((s) => s.name === c.name)?.imagePullPolicy === 'Never') {
        const message = `Container image "${c.image}" is not present with pull policy of Never`;
        this.opts.event(pod, 'Warning', 'ErrImageNeverPull', message);
        run.stage = 'waiting';
        return this.setWaiting(run, c, 'ErrImageNeverPull', message);
      }
      return this.failPull(run, pod, c);
    }
    run.root ||= await mkdtemp(join(tmpdir(), `fake-kubelet-${run.name}-`));
    if (!this.runs.has(run.uid)) return void (await rm(run.root, { recursive: true, force: true }));
    const volumes = await mountVolumes(pod, run.root, storeLookup(this.opts.store, run.namespace));
    if (!volumes.ok) {
      this.opts.event(pod, 'Warning', 'FailedMount', volumes.message);
      run.stage = 'waiting';
      run.waitingOnConfig = true;
      return;
    }
    const envs = new Map<string, Record<string, string>>();
    for (const spec of specs) {
      const imageEnv = await imageEnvironment(
        run.root,
        spec.image ?? '',
        this.opts.images[spec.image ?? ''] ?? {},
      );
      const env = resolveEnv(pod, spec, imageEnv, storeLookup(this.opts.store, run.namespace));
      if (!env.ok) {
        this.opts.event(pod, 'Warning', 'Failed', `Error: ${env.message}`);
        run.stage = 'waiting';
        run.waitingOnConfig = true;
        return this.setWaiting(
          run,
          all.find((c) => c.name === spec.name)!,
          'CreateContainerConfigError',
          env.message,
        );
      }
      envs.set(spec.name, env.value);
    }
    run.stage = 'running';
    run.model.sandboxReady = true;
    run.model.startTime ??= now();
    for (const c of run.model.main)
      if (c.state.waiting?.reason !== 'PodInitializing')
        c.state = { waiting: { reason: 'ContainerCreating' } };
    this.write(run);
    for (const spec of pod.spec.initContainers ?? []) {
      const code = await this.runContainer(
        run,
        pod,
        spec,
        envs.get(spec.name)!,
        volumes.value,
        run.model.init,
      );
      if (code !== 0) return this.finish(run);
    }
    for (const c of run.model.main) c.state = { waiting: { reason: 'ContainerCreating' } };
    await Promise.all(
      pod.spec.containers.map((spec) =>
        this.runContainer(run, pod, spec, envs.get(spec.name)!, volumes.value, run.model.main),
      ),
    );
    this.finish(run);
  }

  /** The kubelet pulls anyway when an imagePullSecret is missing, but says so. */
  private checkPullSecrets(pod: Pod): void {
    const names = ((pod.spec.imagePullSecrets ?? []) as Array<{ name?: string }>).map(
      (s) => s.name ?? '',
    );
    const missing = names.filter(
      (n) => !this.opts.store.get(SECRETS, pod.metadata.namespace ?? '', n),
    );
    if (missing.length === 0) return;
    this.opts.event(
      pod,
      'Warning',
      'FailedToRetrieveImagePullSecret',
      `Unable to retrieve some image pull secrets (${missing.join(', ')}); attempting to pull the image may not succeed.`,
    );
  }

  private failPull(run: Run, pod: Pod, c: ContainerModel): void {
    const err = pullError(c.image);
    run.stage = 'waiting';
    this.opts.event(pod, 'Normal', 'Pulling', `Pulling image "${c.image}"`);
    this.opts.event(pod, 'Warning', 'Failed', `Failed to pull image "${c.image}": ${err}`);
    this.setWaiting(run, c, 'ErrImagePull', err);
    run.timers.push(
      setTimeout(() => {
        if (c.state.waiting?.reason !== 'ErrImagePull') return;
        this.opts.event(pod, 'Normal', 'BackOff', `Back-off pulling image "${c.image}"`);
        this.setWaiting(
          run,
          c,
          'ImagePullBackOff',
          `Back-off pulling image "${c.image}": ErrImagePull: ${err}`,
        );
      }, this.opts.imagePullBackOffMs),
    );
  }

  /** Runs one container to its end; resolves with its exit code. */
  private async runContainer(
    run: Run,
    pod: Pod,
    spec: Container,
    env: Record<string, string>,
    volumes: Map<string, string>,
    models: ContainerModel[],
  ): Promise<number> {
    const model = models.find((m) => m.name === spec.name)!;
    const mounts = mountsOf(spec, volumes);
    const argv = commandLine(spec, this.opts.images[spec.image ?? ''] ?? {}, env, mounts);
    const childEnv = Object.fromEntries(
      Object.entries(env).map(([k, v]) => [k, rewritePaths(v, mounts)]),
    );
    const log = this.logs.get(run.name)?.get(spec.name);
    const startedAt = now();
    const containerID = `containerd://${randomBytes(32).toString('hex')}`;
    const result = !this.live(run)
      ? { exitCode: 137, startError: null, signal: null }
      : await runProcess(argv, await workdir(run.root, spec, mounts), childEnv, log, (child) => {
          // Deleted (or the fake closed) while it was starting: it must not outlive its pod.
          if (!this.live(run)) return signalGroup(child, 'SIGKILL');
          run.procs.set(spec.name, child);
          model.containerID = containerID;
          model.state = { running: { startedAt } };
          this.write(run);
          this.opts.event(pod, 'Normal', 'Started', `Started container ${spec.name}`);
        });
    run.procs.delete(spec.name);
    log?.end();
    const oom = run.killed.get(spec.name) === 'OOMKilled';
    const exitCode = oom ? 137 : result.exitCode;
    const reason = result.startError
      ? 'StartError'
      : oom
        ? 'OOMKilled'
        : exitCode === 0
          ? 'Completed'
          : 'Error';
    model.containerID = containerID;
    model.state = {
      terminated: {
        exitCode,
        reason,
        ...(result.startError ? { message: result.startError } : {}),
        startedAt,
        finishedAt: now(),
        containerID,
      },
    };
    this.write(run);
    return exitCode;
  }

  private finish(run: Run): void {
    run.stage = 'finished';
    this.write(run);
    if (run.terminating) this.removeNow(run);
    this.reschedule();
  }

  private removeNow(run: Run): void {
    const pod = this.pod(run);
    if (pod && pod.metadata.uid === run.uid) this.opts.store.remove(PODS, run.namespace, run.name);
  }

  private signal(run: Run, sig: NodeJS.Signals): void {
    for (const child of run.procs.values()) signalGroup(child, sig);
  }

  /**
   * DELETE of a pod: with live processes, marks it terminating (deletionTimestamp), sends SIGTERM
   * and SIGKILL after the grace period, and removes the object once they exit; otherwise removes
   * it at once. Returns the object as the DELETE answer shows it.
   */
  deletePod(pod: Pod, gracePeriodSeconds?: number): KubeObject {
    const run = this.runs.get(pod.metadata.uid ?? '');
    // A grace period the DELETE asks for wins; the test override replaces only the pod's own.
    const grace =
      gracePeriodSeconds ??
      this.opts.terminationGracePeriodSeconds ??
      pod.spec.terminationGracePeriodSeconds ??
      30;
    if (!run || run.procs.size === 0 || run.terminating) {
      if (run) run.terminating = true;
      if (run?.procs.size) return pod; // already terminating
      return this.opts.store.remove(
        PODS,
        run?.namespace ?? pod.metadata.namespace ?? '',
        pod.metadata.name,
      );
    }
    run.terminating = true;
    this.opts.event(
      pod,
      'Normal',
      'Killing',
      `Stopping container ${[...run.procs.keys()].join(', ')}`,
    );
    if (grace === 0) {
      this.signal(run, 'SIGKILL');
      return this.opts.store.remove(PODS, run.namespace, run.name);
    }
    this.signal(run, 'SIGTERM');
    run.timers.push(setTimeout(() => this.signal(run, 'SIGKILL'), grace * 1000));
    return this.opts.store.mutate(PODS, run.namespace, run.name, (p) => {
      p.metadata.deletionTimestamp = new Date(Date.now() + grace * 1000)
        .toISOString()
        .replace(/\.\d+Z$/, 'Z');
      p.metadata.deletionGracePeriodSeconds = grace;
    })!;
  }

  /** Kills the pod's containers as the kernel's OOM killer would (SIGKILL, OOMKilled, exit 137). */
  oomKill(name: string): void {
    const run = this.byName(name);
    for (const container of run.procs.keys()) run.killed.set(container, 'OOMKilled');
    this.signal(run, 'SIGKILL');
  }

  /** Evicts the pod as the kubelet does under node pressure: containers killed, phase Failed, reason Evicted. */
  evict(name: string, message: string): void {
    const run = this.byName(name);
    run.model.evicted = message;
    const pod = this.pod(run);
    if (pod) this.opts.event(pod, 'Warning', 'Evicted', message);
    if (run.procs.size > 0) this.signal(run, 'SIGKILL');
    else this.finish(run);
  }

  private byName(name: string): Run {
    const run = [...this.runs.values()].reverse().find((r) => r.name === name);
    if (!run)
      throw new Error(
        `no pod named ${name} on the fake node: see fake.pods() for the pods that exist`,
      );
    return run;
  }

  private forget(uid: string): void {
    const run = this.runs.get(uid);
    if (!run) return;
    this.runs.delete(uid);
    this.signal(run, 'SIGKILL');
    run.timers.forEach(clearTimeout);
    if (run.root) this.later(() => rm(run.root, { recursive: true, force: true }));
    this.later(() => this.reschedule());
  }

  /** Whether the pod may still run processes. */
  private live(run: Run): boolean {
    return !this.closed && !run.terminating && this.runs.has(run.uid);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe();
    const runs = [...this.runs.values()];
    this.runs.clear();
    for (const run of runs) {
      this.signal(run, 'SIGKILL');
      run.timers.forEach(clearTimeout);
    }
    await Promise.all(
      runs.filter((r) => r.root).map((r) => rm(r.root, { recursive: true, force: true })),
    );
  }
}
