/**
 * One watch per resource (pods, Jobs) over the worker namespace, selecting what Forge made for
 * workers, shared by every attempt: N running attempts cost two watch connections, not 2N. Each
 * event goes to the listeners of the attempt its `forge.dev/job-id` and `forge.dev/attempt`
 * labels name.
 *
 * client-node's ListWatch lists, then watches from the list's resourceVersion, reconnects when
 * the server closes the stream, and relists on 410 Gone (history compacted) — announcing as
 * deleted whatever vanished meanwhile. On any other error it stops; this restarts it, after a
 * back-off that doubles up to `maxBackoffMs` and resets once the watch delivers again.
 *
 * The watches run while someone is subscribed, and stop with the last listener.
 *
 * The informer is client-node's (what `makeInformer` builds: a ListWatch over a Watch), with one
 * change: ListWatch cannot abort a watch request still connecting when it is stopped, so the
 * Watch here aborts any request that connects after its generation was stopped.
 */
import {
  ListWatch,
  Watch,
  type KubeConfig,
  type KubernetesObject,
  type V1Job,
  type V1Pod,
} from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SandboxLabels } from '../../../ports/sandbox.ts';
import {
  ATTEMPT_LABEL,
  attemptLabels,
  JOB_ID_LABEL,
  labelsOf,
  WORKER_SELECTOR,
} from './job-manifest.ts';
import { apiMessage, type KubeClients } from './kube-client.ts';

export type WatchedKind = 'pod' | 'job';
export interface WatchEvent {
  kind: WatchedKind;
  type: 'add' | 'update' | 'delete';
  object: KubernetesObject;
}
export type WatchListener = (event: WatchEvent) => void;

export interface KubeWatch {
  /** Calls `listener` with every change of the attempt's Job and pods; returns the unsubscribe. */
  subscribe(labels: SandboxLabels, listener: WatchListener): () => void;
  /** Resolves once both watches have listed since they (re)started: the caches are current. */
  ready(): Promise<void>;
  /** The attempt's objects as last seen. */
  jobs(labels: SandboxLabels): V1Job[];
  pods(labels: SandboxLabels): V1Pod[];
  /** Stops both watches now, whoever is subscribed. */
  close(): Promise<void>;
}

export interface KubeWatchOptions {
  clients: KubeClients;
  namespace: string;
  /** A watch failed and will be restarted (no secret is ever in it). */
  onError?: (message: string) => void;
  /** First restart delay (default 1 s), doubling up to `maxBackoffMs` (default 30 s). */
  backoffMs?: number;
  maxBackoffMs?: number;
}

/** Objects are matched by their labels' values, which is what the API stores. */
function keyOf(labels: SandboxLabels): string {
  const values = attemptLabels(labels);
  return `${values[JOB_ID_LABEL]}/${values[ATTEMPT_LABEL]}`;
}

/** A Watch whose requests can all be aborted, including those still connecting. */
class StoppableWatch extends Watch {
  generation = 0;
  private readonly open = new Set<AbortController>();

  constructor(config: KubeConfig) {
    super(config);
  }

  override async watch(
    path: string,
    params: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    const generation = this.generation;
    const controller = await super.watch(path, params, callback, (err: unknown) => {
      this.open.delete(controller);
      done(err);
    });
    if (generation !== this.generation) controller.abort();
    else if (!controller.signal.aborted) this.open.add(controller);
    return controller;
  }

  abortAll(): void {
    this.generation += 1;
    for (const controller of this.open) controller.abort();
    this.open.clear();
  }
}

/** One run of a resource's informer, from start to stop; a restart after stop is a new one
 *  (a fresh list, a fresh cache). */
interface Session<T extends KubernetesObject> {
  informer: ListWatch<T>;
  watch: StoppableWatch;
  /** Aborted by stop: cancels a pending restart. */
  stopped: AbortController;
  listed: Promise<void>;
}

/** One resource's informer, restarted after errors while it should run. */
class ResourceWatch<T extends KubernetesObject> {
  private session: Session<T> | null = null;
  private delayMs: number;
  private readonly opts: KubeWatchOptions;
  private readonly kind: WatchedKind;
  private readonly path: string;
  private readonly listFn: () => Promise<{ items: T[]; metadata?: { resourceVersion?: string } }>;
  private readonly dispatch: (event: WatchEvent) => void;

  constructor(
    opts: KubeWatchOptions,
    kind: WatchedKind,
    path: string,
    listFn: () => Promise<{ items: T[]; metadata?: { resourceVersion?: string } }>,
    dispatch: (event: WatchEvent) => void,
  ) {
    this.opts = opts;
    this.kind = kind;
    this.path = path;
    this.listFn = listFn;
    this.dispatch = dispatch;
    this.delayMs = opts.backoffMs ?? 1000;
  }

  start(): void {
    if (this.session) return;
    const watch = new StoppableWatch(this.opts.clients.config);
    const stopped = new AbortController();
    let markListed: () => void = () => undefined;
    const listed = new Promise<void>((resolve) => (markListed = resolve));
    const informer = new ListWatch<T>(
      this.path,
      watch,
      async () => {
        const result = await this.listFn();
        // Stopped while listing: ListWatch would go on to watch; an error makes it return.
        if (stopped.signal.aborted) throw new Error('stopped');
        this.healthy();
        markListed();
        return result;
      },
      false,
      WORKER_SELECTOR,
    );
    const session: Session<T> = { informer, watch, stopped, listed };
    for (const type of ['add', 'update', 'delete'] as const) {
      informer.on(type, (object: T) => {
        this.healthy();
        this.dispatch({ kind: this.kind, type, object });
      });
    }
    informer.on('error', (err: unknown) => {
      // Nobody waits for a list that keeps failing: the caches are empty until it works.
      markListed();
      this.failed(session, err);
    });
    this.session = session;
    this.launch(session);
  }

  async stop(): Promise<void> {
    const session = this.session;
    if (!session) return;
    this.session = null;
    session.stopped.abort();
    await session.informer.stop();
    session.watch.abortAll();
  }

  ready(): Promise<void> {
    return this.session?.listed ?? Promise.resolve();
  }

  list(): readonly T[] {
    return this.session?.informer.list(this.opts.namespace) ?? [];
  }

  private launch(session: Session<T>): void {
    session.informer.start().catch((err: unknown) => this.failed(session, err));
  }

  private healthy(): void {
    this.delayMs = this.opts.backoffMs ?? 1000;
  }

  private failed(session: Session<T>, err: unknown): void {
    // Stopping aborts the request, which reports an error too.
    if (session.stopped.signal.aborted) return;
    const delay = this.delayMs;
    this.delayMs = Math.min(delay * 2, this.opts.maxBackoffMs ?? 30_000);
    this.opts.onError?.(
      `watching ${this.kind}s in namespace ${this.opts.namespace} failed (${apiMessage(err)}); retrying in ${delay} ms`,
    );
    sleep(delay, undefined, { signal: session.stopped.signal }).then(
      () => this.launch(session),
      () => undefined, // stopped meanwhile
    );
  }
}

export function createKubeWatch(opts: KubeWatchOptions): KubeWatch {
  const { namespace, clients } = opts;
  const listeners = new Map<string, Set<WatchListener>>();
  let subscribers = 0;
  const dispatch = (event: WatchEvent): void => {
    const labels = labelsOf(event.object.metadata);
    if (!labels) return;
    for (const listener of listeners.get(keyOf(labels)) ?? []) listener(event);
  };
  const pods = new ResourceWatch<V1Pod>(
    opts,
    'pod',
    `/api/v1/namespaces/${namespace}/pods`,
    () => clients.core.listNamespacedPod({ namespace, labelSelector: WORKER_SELECTOR }),
    dispatch,
  );
  const jobs = new ResourceWatch<V1Job>(
    opts,
    'job',
    `/apis/batch/v1/namespaces/${namespace}/jobs`,
    () => clients.batch.listNamespacedJob({ namespace, labelSelector: WORKER_SELECTOR }),
    dispatch,
  );
  const mine = <T extends KubernetesObject>(items: readonly T[], labels: SandboxLabels): T[] =>
    items.filter((item) => {
      const found = labelsOf(item.metadata);
      return found !== null && keyOf(found) === keyOf(labels);
    });

  return {
    subscribe(labels, listener) {
      const key = keyOf(labels);
      const set = listeners.get(key) ?? new Set();
      set.add(listener);
      listeners.set(key, set);
      subscribers += 1;
      pods.start();
      jobs.start();
      let subscribed = true;
      return () => {
        if (!subscribed) return;
        subscribed = false;
        set.delete(listener);
        if (set.size === 0) listeners.delete(key);
        subscribers -= 1;
        if (subscribers === 0) void Promise.all([pods.stop(), jobs.stop()]);
      };
    },
    async ready() {
      await Promise.all([pods.ready(), jobs.ready()]);
    },
    jobs: (labels) => mine(jobs.list(), labels),
    pods: (labels) => mine(pods.list(), labels),
    async close() {
      listeners.clear();
      subscribers = 0;
      await Promise.all([pods.stop(), jobs.stop()]);
    },
  };
}
