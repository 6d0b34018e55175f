/**
 * A one-node Kubernetes cluster for tests, with no cluster: an apiserver over plain HTTP on
 * loopback (api-server.ts) that the real @kubernetes/client-node talks to, a Job controller
 * (job-controller.ts) and a kubelet (kubelet.ts) that runs containers as local processes.
 *
 *   const fake = await startFakeKube({
 *     images: { 'forge:test': { env: { PATH: process.env.PATH! }, bin: { forge: '<repo>/bin/forge.js' } } },
 *   });
 *   const kc = new KubeConfig();
 *   kc.loadFromOptions({ clusters: [{ name: 'fake', server: fake.url, skipTLSVerify: true }], … });
 *   …
 *   expect(fake.invalid).toEqual([]);
 *   await fake.close();
 *
 * Faithful where a real cluster surprises: DELETE of a Job orphans its pods unless
 * propagationPolicy says otherwise; list items carry no apiVersion/kind; a watch from a compacted
 * resourceVersion answers 200 and then an ERROR event with a 410 Status; a pod naming a
 * RuntimeClass or ServiceAccount needs opts.runtimeClasses / opts.serviceAccounts to exist.
 */
import { listenOnLoopback } from '../loopback.ts';
import type { Denial } from './access.ts';
import {
  createApiServer,
  type DeleteOptions,
  type InvalidRequest,
  type RecordedRequest,
} from './api-server.ts';
import { GarbageCollector } from './garbage-collector.ts';
import { JobController } from './job-controller.ts';
import { Kubelet, type ImageSpec } from './kubelet.ts';
import { now, ObjectStore, randomSuffix } from './object-store.ts';
import type { Job, Pod } from './pod-types.ts';
import {
  BUILT_IN,
  EVENTS,
  JOBS,
  NAMESPACES,
  PODS,
  type KubeObject,
  type ResourceType,
} from './resources.ts';
import { parseQuantity, type Taint } from './scheduler.ts';
import { podAdmissionError } from './admission.ts';

export type { ImageSpec } from './kubelet.ts';
export type { Denial } from './access.ts';
export type { Taint } from './scheduler.ts';
export type { InvalidRequest, RecordedRequest } from './api-server.ts';
export type { KubeObject, ResourceType } from './resources.ts';
export type { Pod, Job } from './pod-types.ts';

export interface KubeEvent extends KubeObject {
  involvedObject: {
    apiVersion: string;
    kind: string;
    name: string;
    namespace: string;
    uid?: string;
  };
  reason: string;
  message: string;
  type: 'Normal' | 'Warning';
}

export interface FakeKubeOptions {
  /** Images the node can pull, by exact reference; any other image fails with ErrImagePull. */
  images?: Record<string, ImageSpec>;
  /** The node's allocatable resources (default 4 CPUs, 8Gi). */
  nodeCapacity?: { cpu: string | number; memory: string | number };
  nodeLabels?: Record<string, string>;
  /** Taints on the node; pods without a matching toleration stay Unschedulable. */
  nodeTaints?: Taint[];
  /** RuntimeClasses that exist (none by default, as on a fresh cluster); a pod naming another is refused. */
  runtimeClasses?: string[];
  /** ServiceAccounts that exist in every namespace besides `default`; a pod naming another is refused. */
  serviceAccounts?: string[];
  /** Require `Authorization: Bearer <token>` (401 otherwise). */
  token?: string;
  /** Namespaces that exist (more can be created through the API); creating elsewhere is 404. Default: any namespace exists. */
  namespaces?: string[];
  /** Requests to refuse with 403 Forbidden, e.g. { verb: 'delete', group: '', resource: 'pods' }; access reviews agree. */
  forbid?: Denial[];
  /** Changes kept for watches; a watch from an older resourceVersion gets 410 Expired (default 1000). */
  watchWindow?: number;
  bookmarkIntervalMs?: number;
  /** ErrImagePull turns into ImagePullBackOff after this long (default 200ms). */
  imagePullBackOffMs?: number;
  /** Replaces every pod's terminationGracePeriodSeconds, so SIGKILL comes sooner in tests. */
  terminationGracePeriodSeconds?: number;
  /** Delay before the Job controller replaces a failed pod (default 0; a real cluster backs off from 10s). */
  podRetryDelayMs?: number;
  /** More resource types, e.g. custom resources with their own validate. */
  resources?: ResourceType[];
}

export interface FakeKube {
  url: string;
  store: ObjectStore;
  /** Every request, in order (method, path, query, body). */
  requests: RecordedRequest[];
  /** Every create/update/patch refused with 422, with the validation errors. */
  invalid: InvalidRequest[];
  /** The next request matching method and path answers `status` (a Status object). */
  failNext(method: string, path: RegExp, status: number, message?: string): void;
  /** Ends every open watch ('destroy': drops the connection instead); returns how many. */
  cutWatches(how?: 'end' | 'destroy'): number;
  /** As after an apiserver restart: the watch history is gone (so resuming from any version handed out so far is 410 Expired) and open watches end. */
  expireWatches(): void;
  setSchedulable(schedulable: boolean): void;
  oomKill(podName: string): void;
  evict(podName: string, message?: string): void;
  pods(namespace?: string): Pod[];
  jobs(namespace?: string): Job[];
  /** Events the fake kubelet, scheduler and Job controller recorded (Scheduled, Pulling, FailedCreate, …). */
  events(namespace?: string): KubeEvent[];
  /** A container's stdout+stderr so far (the first container by default), also after the pod is gone. */
  podOutput(podName: string, container?: string): string;
  /** Deletes as a DELETE request would (garbage collection, pods stopped through the kubelet), for controllers built on the fake. */
  deleteObject(type: ResourceType, namespace: string, name: string, options?: DeleteOptions): void;
  /** Resolves with the first truthy value of `probe`, checked on every cluster change and log output. */
  waitFor<T>(probe: () => T | undefined | null | false, timeoutMs?: number): Promise<T>;
  close(): Promise<void>;
}

export async function startFakeKube(opts: FakeKubeOptions = {}): Promise<FakeKube> {
  const store = new ObjectStore(opts.watchWindow ?? 1000);
  const waiters = new Set<() => void>();
  const changed = (): void => waiters.forEach((w) => w());
  store.onChange(changed);
  const event = (
    obj: KubeObject,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): void => {
    setImmediate(() => recordEvent(store, obj, type, reason, message));
  };
  const capacity = opts.nodeCapacity ?? { cpu: 4, memory: '8Gi' };
  const node = {
    name: 'fake-node',
    capacity: { cpu: parseQuantity(capacity.cpu), memory: parseQuantity(capacity.memory) },
    labels: {
      'kubernetes.io/hostname': 'fake-node',
      'kubernetes.io/os': 'linux',
      ...opts.nodeLabels,
    },
    taints: opts.nodeTaints ?? [],
    schedulable: true,
  };
  const admission = {
    runtimeClasses: opts.runtimeClasses ?? [],
    serviceAccounts: opts.serviceAccounts ?? [],
  };
  const admitPod = (pod: Pod): string | null => podAdmissionError(pod, admission);
  const kubelet = new Kubelet({
    store,
    images: opts.images ?? {},
    node,
    imagePullBackOffMs: opts.imagePullBackOffMs ?? 200,
    ...(opts.terminationGracePeriodSeconds !== undefined
      ? { terminationGracePeriodSeconds: opts.terminationGracePeriodSeconds }
      : {}),
    event,
    changed,
  });
  const gc = new GarbageCollector(store, kubelet);
  const jobs = new JobController({
    store,
    podRetryDelayMs: opts.podRetryDelayMs ?? 0,
    admitPod,
    deleteObject: (type, ns, name, o) => void gc.delete(type, ns, name, o),
    event,
  });
  const api = createApiServer({
    store,
    types: [...BUILT_IN, ...(opts.resources ?? [])],
    ...(opts.token ? { token: opts.token } : {}),
    ...(opts.namespaces ? { namespaces: opts.namespaces } : {}),
    ...(opts.forbid ? { forbid: opts.forbid } : {}),
    bookmarkIntervalMs: opts.bookmarkIntervalMs ?? 60_000,
    deleteObject: (type, ns, name, o) => gc.delete(type, ns, name, o),
    podLogs: (name) => kubelet.logs.get(name),
    admitPod,
  });
  for (const name of opts.namespaces ?? ['default']) {
    store.create(NAMESPACES, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  }
  const { url, close } = await listenOnLoopback(api.server);

  return {
    url,
    store,
    requests: api.requests,
    invalid: api.invalid,
    failNext: api.failNext,
    cutWatches: api.cutWatches,
    expireWatches() {
      store.compact();
      api.cutWatches('end');
    },
    setSchedulable(schedulable) {
      node.schedulable = schedulable;
      kubelet.reschedule();
    },
    oomKill: (name) => kubelet.oomKill(name),
    evict: (name, message) =>
      kubelet.evict(
        name,
        message ??
          'The node was low on resource: ephemeral-storage. Threshold quantity: 1Gi, available: 512Mi. Container main was using 10Gi, request is 0, has larger consumption of ephemeral-storage. ',
      ),
    events: (namespace) =>
      (namespace === undefined ? store.list(EVENTS) : store.list(EVENTS, namespace)) as KubeEvent[],
    jobs: (namespace) =>
      (namespace === undefined ? store.list(JOBS) : store.list(JOBS, namespace)) as Job[],
    pods: (namespace) =>
      (namespace === undefined ? store.list(PODS) : store.list(PODS, namespace)) as Pod[],
    podOutput(name, container) {
      const logs = kubelet.logs.get(name);
      if (!logs) throw new Error(`no pod named ${name} ever ran on the fake node: see fake.pods()`);
      const buffer = container ? logs.get(container) : logs.values().next().value;
      return buffer?.text ?? '';
    },
    deleteObject: (type, ns, name, options = {}) => void gc.delete(type, ns, name, options),
    waitFor<T>(probe: () => T | undefined | null | false, timeoutMs = 15_000): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const check = (): void => {
          const value = probe();
          if (value) {
            cleanup();
            resolve(value);
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(
              `fake.waitFor: condition not met within ${timeoutMs}ms; pods: ${JSON.stringify(store.list(PODS).map((p) => ({ name: p.metadata.name, status: p.status })))}`,
            ),
          );
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async close() {
      jobs.close();
      gc.close();
      api.cutWatches('destroy');
      await kubelet.close();
      await close();
    },
  };
}

function recordEvent(
  store: ObjectStore,
  obj: KubeObject,
  type: 'Normal' | 'Warning',
  reason: string,
  message: string,
): void {
  const t = now();
  const { name, namespace = 'default', uid } = obj.metadata;
  store.create(EVENTS, {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: `${name}.${randomSuffix()}${randomSuffix()}`, namespace },
    involvedObject: { apiVersion: obj.apiVersion, kind: obj.kind, name, namespace, uid },
    reason,
    message,
    type,
    source: { component: obj.kind === 'Job' ? 'job-controller' : 'kubelet', host: 'fake-node' },
    firstTimestamp: t,
    lastTimestamp: t,
    count: 1,
    reportingComponent: obj.kind === 'Job' ? 'job-controller' : 'kubelet',
    reportingInstance: 'fake-node',
  });
}
