/**
 * Starts each remote attempt's `forge worker` as a Kubernetes batch/v1 Job (job-manifest.ts),
 * follows it through one shared watch (kube-watch.ts), says why it failed (pod-failures.ts) or
 * what it waits for (pod-waiting.ts), and removes it.
 *
 * launch: create the Job suspended; create the token Secret owned by it; resume the Job. A Job of
 * the same attempt that already exists (409) is a launch repeated after Forge crashed: it is
 * adopted (the token is the same: it is derived from the attempt), its Secret written again and
 * the Job resumed. The token is never logged nor put in a message.
 */
import type { V1Job } from '@kubernetes/client-node';
import { ForgeError } from '../../../domain/errors.ts';
import type { SandboxLabels } from '../../../ports/sandbox.ts';
import type {
  LaunchedWorker,
  WorkerAssignment,
  WorkerLauncher,
} from '../remote/worker-launcher.ts';
import {
  ATTEMPT_LABEL,
  attemptLabels,
  JOB_ID_LABEL,
  jobManifest,
  jobName,
  labelsOf,
  parseWorkerRef,
  tokenSecretManifest,
  tokenSecretName,
  WORKER_SELECTOR,
  workerRef,
  type JobManifestConfig,
} from './job-manifest.ts';
import { apiMessage, createKubeClients, statusOf, type KubeClients } from './kube-client.ts';
import { kubeDoctor } from './kube-doctor.ts';
import { createKubeWatch, type KubeWatch } from './kube-watch.ts';
import { WatchedWorker } from './watched-worker.ts';
import { describeWorker, withLogTail } from './worker-description.ts';

export interface KubeLauncherOptions {
  config: JobManifestConfig & { kubeconfig?: string | undefined; context?: string | undefined };
  /** Ready-made clients (tests); by default made from `config.kubeconfig` and `context`. */
  clients?: KubeClients;
  /** Watch trouble worth a log line (never carries a secret). */
  onWarning?: (message: string) => void;
  /** How long a deletion waits for the Job status to explain it (default 2 s). */
  settleMs?: number;
  /** First delay before a failed watch is restarted (default 1 s). */
  watchBackoffMs?: number;
  /** Seconds between the attempt's max duration and the Job's deadline (default 60). */
  deadlineMarginSeconds?: number;
}

export interface KubeLauncher extends WorkerLauncher {
  /** Stops the shared watch (shutdown, tests). */
  close(): Promise<void>;
}

export function createKubeLauncher(opts: KubeLauncherOptions): KubeLauncher {
  const { config } = opts;
  const namespace = config.namespace;
  let made: { clients: KubeClients; watch: KubeWatch } | null = null;
  /** Made on first use, so `forge doctor` can report a kubeconfig it cannot read. */
  const kube = () => {
    made ??= (() => {
      const clients = opts.clients ?? createKubeClients(config);
      const watch = createKubeWatch({
        clients,
        namespace,
        ...(opts.onWarning ? { onError: opts.onWarning } : {}),
        ...(opts.watchBackoffMs ? { backoffMs: opts.watchBackoffMs } : {}),
      });
      return { clients, watch };
    })();
    return made;
  };
  const watched = new Map<string, Set<WatchedWorker>>();

  async function attach(labels: SandboxLabels, token: string | null): Promise<LaunchedWorker> {
    const { clients, watch } = kube();
    const worker = new WatchedWorker({
      watch,
      labels,
      namespace,
      ...(opts.settleMs !== undefined ? { settleMs: opts.settleMs } : {}),
      enrich: (failure, objects) => withLogTail(clients, namespace, failure, objects, token),
    });
    const key = `${labels.jobId}/${labels.attempt}`;
    const set = watched.get(key) ?? new Set();
    set.add(worker);
    watched.set(key, set);
    await watch.ready();
    worker.check();
    return {
      ref: workerRef(namespace, labels),
      failed: worker.failed,
      describe: () => describeWorker(clients, namespace, worker.objects(), labels, token),
      dispose: () => {
        worker.dispose();
        set.delete(worker);
        if (set.size === 0 && watched.get(key) === set) watched.delete(key);
      },
    };
  }

  return {
    kind: 'kubernetes',
    label: 'kubernetes',

    async launch(assignment: WorkerAssignment) {
      const { labels } = assignment;
      const { clients } = kubeOrUnavailable();
      const name = jobName(labels);
      const job = await createOrAdoptJob(clients, assignment);
      const uid = job.metadata?.uid;
      try {
        if (!uid) throw new Error('the API returned the Job without a uid');
        await writeTokenSecret(clients, assignment, { name, uid });
        if (job.spec?.suspend !== false) await resume(clients, namespace, name);
      } catch (err) {
        await removeAttempt(clients, namespace, labels);
        throw unavailable(`could not start Job ${name} in namespace ${namespace}`, err);
      }
      return attach(labels, assignment.token);
    },

    async follow(ref, labels) {
      const { clients } = kubeOrUnavailable();
      const where = parseWorkerRef(ref);
      const name = where?.name ?? jobName(labels);
      try {
        const job = await clients.batch.readNamespacedJob({ name, namespace });
        const owner = labelsOf(job.metadata);
        if (!owner || owner.jobId !== labels.jobId || owner.attempt !== labels.attempt) return null;
      } catch (err) {
        if (statusOf(err) === 404) return null;
        throw unavailable(`could not read Job ${name} in namespace ${namespace}`, err);
      }
      return attach(labels, null);
    },

    async stop(ref, labels) {
      for (const worker of watched.get(`${labels.jobId}/${labels.attempt}`) ?? [])
        worker.markStopping();
      watched.delete(`${labels.jobId}/${labels.attempt}`);
      try {
        const { clients } = kube();
        const target = parseWorkerRef(ref);
        await removeAttempt(clients, target?.namespace ?? namespace, labels);
      } catch {
        // stop never throws; what is left is found by held() and collected later
      }
    },

    async held() {
      const { clients } = kubeOrUnavailable();
      try {
        const [jobs, secrets] = await Promise.all([
          clients.batch.listNamespacedJob({ namespace, labelSelector: WORKER_SELECTOR }),
          clients.core.listNamespacedSecret({ namespace, labelSelector: WORKER_SELECTOR }),
        ]);
        const found = new Map<string, { ref: string; labels: SandboxLabels }>();
        for (const item of [...jobs.items, ...secrets.items]) {
          const labels = labelsOf(item.metadata);
          if (labels)
            found.set(workerRef(namespace, labels), { ref: workerRef(namespace, labels), labels });
        }
        return [...found.values()];
      } catch (err) {
        throw unavailable(`could not list Forge's Jobs and Secrets in namespace ${namespace}`, err);
      }
    },

    async doctor() {
      let clients: KubeClients;
      try {
        clients = kube().clients;
      } catch (err) {
        return [
          { name: 'kubernetes API', ok: false, level: 'error', detail: (err as Error).message },
        ];
      }
      return kubeDoctor(clients, config);
    },

    async close() {
      await made?.watch.close();
    },
  };

  function kubeOrUnavailable() {
    try {
      return kube();
    } catch (err) {
      throw new ForgeError('unavailable', (err as Error).message, { cause: err });
    }
  }

  async function createOrAdoptJob(
    clients: KubeClients,
    assignment: WorkerAssignment,
  ): Promise<V1Job> {
    const name = jobName(assignment.labels);
    try {
      return await clients.batch.createNamespacedJob({
        namespace,
        body: jobManifest(config, assignment, opts.deadlineMarginSeconds),
      });
    } catch (err) {
      if (statusOf(err) !== 409)
        throw unavailable(`could not create Job ${name} in namespace ${namespace}`, err);
    }
    const existing = await clients.batch
      .readNamespacedJob({ name, namespace })
      .catch((err: unknown) => {
        throw unavailable(`Job ${name} exists in namespace ${namespace} but cannot be read`, err);
      });
    const owner = labelsOf(existing.metadata);
    if (owner?.jobId !== assignment.labels.jobId || owner.attempt !== assignment.labels.attempt)
      throw new ForgeError(
        'unavailable',
        `a Job named ${name} already exists in namespace ${namespace} and is not this attempt's worker; delete it (kubectl -n ${namespace} delete job ${name})`,
      );
    return existing;
  }

  async function writeTokenSecret(
    clients: KubeClients,
    assignment: WorkerAssignment,
    owner: { name: string; uid: string },
  ): Promise<void> {
    const body = tokenSecretManifest(config, assignment, owner);
    try {
      await clients.core.createNamespacedSecret({ namespace, body });
    } catch (err) {
      if (statusOf(err) !== 409) throw err;
      // Left by the launch this one repeats: write it again, owned by the Job there is now.
      await clients.core.replaceNamespacedSecret({
        name: tokenSecretName(assignment.labels),
        namespace,
        body,
      });
    }
  }
}

/** Lets the Job controller make the pod (a JSON patch: client-node's default patch type). */
async function resume(clients: KubeClients, namespace: string, name: string): Promise<void> {
  await clients.batch.patchNamespacedJob({
    name,
    namespace,
    body: [{ op: 'add', path: '/spec/suspend', value: false }],
  });
}

/** Deletes the attempt's Job (its pods with it, in the background), its token Secret, and its
 *  pods at once (so the worker stops now rather than when the garbage collector gets to them).
 *  What is already gone is fine; the pods are best effort (the collector deletes them anyway). */
async function removeAttempt(
  clients: KubeClients,
  namespace: string,
  labels: SandboxLabels,
): Promise<void> {
  const gone = (err: unknown) => {
    if (statusOf(err) !== 404) throw err;
  };
  await clients.batch
    .deleteNamespacedJob({ name: jobName(labels), namespace, propagationPolicy: 'Background' })
    .catch(gone);
  await clients.core
    .deleteNamespacedSecret({ name: tokenSecretName(labels), namespace })
    .catch(gone);
  const values = attemptLabels(labels);
  const pods = await clients.core
    .listNamespacedPod({
      namespace,
      labelSelector: `${WORKER_SELECTOR},${JOB_ID_LABEL}=${values[JOB_ID_LABEL]},${ATTEMPT_LABEL}=${values[ATTEMPT_LABEL]}`,
    })
    .catch(() => ({ items: [] }));
  await Promise.all(
    pods.items.map((pod) =>
      clients.core
        .deleteNamespacedPod({ name: pod.metadata?.name ?? '', namespace })
        .catch(() => undefined),
    ),
  );
}

function unavailable(what: string, err: unknown): ForgeError {
  const status = statusOf(err);
  const hint =
    status === 403
      ? "; Forge's Kubernetes account lacks a permission: grant it create/get/patch/delete on jobs, create/update/delete on secrets and list/watch/delete on pods in the namespace (the chart's Role does)"
      : status === 404
        ? '; check that the namespace exists (sandbox.namespace)'
        : status === 422 || status === 400
          ? '; the API refused the manifest: check sandbox.resources, tolerations and node_selector'
          : status === undefined
            ? '; check that the Kubernetes API is reachable (sandbox.kubeconfig, sandbox.context)'
            : '';
  return new ForgeError('unavailable', `${what}: ${apiMessage(err)}${hint}`, { cause: err });
}
