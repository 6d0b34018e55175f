/**
 * A WorkerLauncher on kubernetes-sigs/agent-sandbox (v1beta1): one SandboxClaim per attempt on a
 * warm pool whose pods run `forge worker --warm`. Once the controller binds the claim, the pod it
 * names is checked — it carries this claim's uid label (a pod adopted twice does not), it is
 * Ready and not being deleted — and only then is the attempt's token offered to that pod by name
 * (remote/warm-assignments.ts); its waiting worker takes it and runs the attempt as any worker.
 *
 * The controller's known defects, and what this does about each:
 * - a warm pod adopted by two claims: the pod's claim-uid label names one claim; the other is
 *   failed as `interrupted` (and retried) and never offered the pod;
 * - a claim that never becomes Ready and never fails: the remote sandbox's start deadline ends
 *   the attempt as `sandbox`, and `describe()` gives the claim's last condition;
 * - Ready flapping: the pod is offered the first time every check passes; a later False changes
 *   nothing (the pod's own death is what ends the attempt);
 * - a non-ready sandbox adopted: the pod's own Ready condition is checked, not the claim's.
 * Reasons that will not clear (`WarmPoolNotFound`, `TemplateNotFound`, `ReconcilerError`) fail
 * the attempt as `sandbox` at once, with what to do. Cancel and clean-up delete the claim, whose
 * `shutdownPolicy: Delete` removes its sandbox and pod; `shutdownTime` (after the attempt's max
 * duration) is the controller's own safety net.
 */
import { CustomObjectsApi, Watch, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { ForgeError } from '../../../domain/errors.ts';
import type { DoctorCheck } from '../../../ports/doctor-check.ts';
import type { SandboxLabels } from '../../../ports/sandbox.ts';
import { attemptLabels, jobName, labelsOf, WORKER_SELECTOR } from '../kubernetes/job-manifest.ts';
import { apiMessage, fromKubeConfig, statusOf } from '../kubernetes/kube-client.ts';
import type {
  LaunchedWorker,
  LaunchFailure,
  WorkerAssignment,
  WorkerLauncher,
} from '../remote/worker-launcher.ts';

const GROUP = 'extensions.agents.x-k8s.io';
const VERSION = 'v1beta1';
const CLAIMS = 'sandboxclaims';
const SANDBOX_GROUP = 'agents.x-k8s.io';
const SANDBOXES = 'sandboxes';
const POD_NAME_ANNOTATION = 'agents.x-k8s.io/pod-name';
const CLAIM_UID_LABEL = 'agents.x-k8s.io/claim-uid';
/** Reasons the controller gives that waiting will not clear. */
const TERMINAL = new Set(['WarmPoolNotFound', 'TemplateNotFound', 'ReconcilerError']);
/** The controller deletes the claim this long after the attempt's max duration. */
const SHUTDOWN_MARGIN_MS = 5 * 60_000;

export interface ClaimLauncherOptions {
  config: KubeConfig;
  namespace: string;
  /** The SandboxWarmPool claims draw from. */
  warmPool: string;
  /** Its SandboxTemplate, checked by `doctor` when given. */
  template?: string;
  /** Offers the attempt's token to the warm pod `pod` at `address` (RemoteAttempts.warm). */
  offer(pod: string, token: string, address: string | null): void;
  withdraw(pod: string): void;
  /** Written into the Secret `poolSecret` (key `token`) before the first claim, for the warm
   *  pods' template to read as FORGE_POOL_TOKEN. */
  poolToken: () => string;
  poolSecret: string;
  onWarning?: (message: string) => void;
}

interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}
interface Claim {
  metadata?: { name?: string; uid?: string; labels?: Record<string, string> };
  status?: { conditions?: Condition[]; sandbox?: { name?: string } };
}
interface Sandbox {
  metadata?: { name?: string; annotations?: Record<string, string> };
}

export function createClaimLauncher(opts: ClaimLauncherOptions): WorkerLauncher {
  const { namespace } = opts;
  const custom = opts.config.makeApiClient(CustomObjectsApi);
  const { core } = fromKubeConfig(opts.config);
  const claimPath = `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${CLAIMS}`;
  /** Pods offered an attempt, by claim name, so a stop withdraws an offer not yet taken. */
  const offered = new Map<string, string>();
  // The warm pods cannot start without it: written at once, and awaited by the first launch.
  let secretWritten: Promise<void> | null = null;
  const writeSecret = () =>
    (secretWritten ??= writePoolSecret().catch((err: unknown) => {
      secretWritten = null;
      const message = `could not write the pool Secret ${opts.poolSecret} in ${namespace}: ${apiMessage(err)}; warm pods cannot ask for attempts without it`;
      opts.onWarning?.(message);
      throw new ForgeError('unavailable', message, { cause: err });
    }));
  async function writePoolSecret(): Promise<void> {
    const body = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: opts.poolSecret,
        namespace,
        labels: { 'app.kubernetes.io/managed-by': 'forge' },
      },
      type: 'Opaque',
      data: { token: Buffer.from(opts.poolToken()).toString('base64') },
    };
    try {
      await core.createNamespacedSecret({ namespace, body });
    } catch (err) {
      if (statusOf(err) !== 409) throw err;
      await core.replaceNamespacedSecret({ name: opts.poolSecret, namespace, body });
    }
  }
  void writeSecret().catch(() => undefined);

  const ready = (c: Claim) => c.status?.conditions?.find((x) => x.type === 'Ready');
  const refOf = (name: string) => `claim:${namespace}/${name}`;
  const nameOf = (ref: string) => /^claim:[^/]+\/(.+)$/.exec(ref)?.[1] ?? null;

  /** The pod a bound claim names, if it is really this claim's and ready to take work. */
  async function boundPod(claim: Claim): Promise<{ pod: V1Pod } | { refused: string } | null> {
    const sandboxName = claim.status?.sandbox?.name;
    if (!sandboxName) return null;
    const sandbox = (await custom
      .getNamespacedCustomObject({
        group: SANDBOX_GROUP,
        version: VERSION,
        namespace,
        plural: SANDBOXES,
        name: sandboxName,
      })
      .catch(() => null)) as Sandbox | null;
    if (!sandbox) return null;
    const podName = sandbox.metadata?.annotations?.[POD_NAME_ANNOTATION] ?? sandboxName;
    const pod = await core.readNamespacedPod({ name: podName, namespace }).catch(() => null);
    if (!pod) return null;
    const owner = pod.metadata?.labels?.[CLAIM_UID_LABEL];
    if (owner && owner !== claim.metadata?.uid)
      return {
        refused: `AdoptionConflict: the controller bound this claim to pod ${podName}, which belongs to another claim (uid ${owner}); the attempt is retried on another pod`,
      };
    if (owner !== claim.metadata?.uid || pod.metadata?.deletionTimestamp) return null;
    const podReady = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    return podReady ? { pod } : null;
  }

  /** Follows the claim: offers the pod once bound and checked; resolves `failed` when the claim
   *  cannot be bound or its pod goes away afterwards. */
  function follow(name: string, token: string | null): LaunchedWorker {
    let fail: (f: LaunchFailure) => void = () => {};
    const failed = new Promise<LaunchFailure>((resolve) => (fail = resolve));
    let last: Claim | null = null;
    let assignedPod: string | null = null;
    let stopped = false;
    let request: { abort(): void } | null = null;
    let recheck: NodeJS.Timeout | undefined;
    const end = () => {
      stopped = true;
      clearTimeout(recheck);
      request?.abort();
    };
    const settle = (f: LaunchFailure) => {
      if (stopped) return;
      end();
      fail(f);
    };
    const onClaim = async (claim: Claim, type: string): Promise<void> => {
      if (stopped) return;
      last = claim;
      if (type === 'DELETED')
        return settle({ category: 'interrupted', message: `the SandboxClaim ${name} was deleted` });
      const cond = ready(claim);
      if (cond?.status === 'False' && cond.reason && TERMINAL.has(cond.reason))
        return settle({
          category: 'sandbox',
          message: `agent-sandbox cannot bind the claim: ${cond.reason}: ${cond.message ?? ''}; check sandbox.warm_pool and that its SandboxTemplate exists in ${namespace}`,
        });
      if (assignedPod) {
        if (cond?.status === 'False' && cond.reason === 'PodFailed')
          settle({
            category: 'interrupted',
            message: `the pod ${assignedPod} running this attempt failed: ${cond.message ?? ''}`,
          });
        return;
      }
      if (cond?.status !== 'True' || token === null) return;
      const bound = await boundPod(claim);
      if (assignedPod || stopped) return;
      if (!bound) {
        // Bound, but its pod is not ready (or not found yet): look again shortly; the remote
        // sandbox's start deadline ends the wait.
        recheck = setTimeout(() => void onClaim(claim, 'MODIFIED').catch(() => undefined), 250);
        return;
      }
      if ('refused' in bound) return settle({ category: 'interrupted', message: bound.refused });
      assignedPod = bound.pod.metadata!.name!;
      offered.set(name, assignedPod);
      opts.offer(assignedPod, token, bound.pod.status?.podIP ?? null);
    };
    const watch = new Watch(opts.config);
    void watch
      .watch(
        claimPath,
        { fieldSelector: `metadata.name=${name}` },
        (type, obj) => void onClaim(obj as Claim, type).catch(() => undefined),
        (err) => {
          if (!stopped && err)
            settle({
              category: 'interrupted',
              message: `lost the watch of SandboxClaim ${name}: ${apiMessage(err)}`,
            });
        },
      )
      .then((r) => (request = r));
    return {
      ref: refOf(name),
      failed,
      describe: () => {
        const cond = last ? ready(last) : undefined;
        return Promise.resolve(
          cond
            ? `SandboxClaim ${name} Ready=${cond.status} ${cond.reason ?? ''}: ${cond.message ?? ''}`
            : `SandboxClaim ${name} has no Ready condition yet (is the agent-sandbox controller running?)`,
        );
      },
      dispose: end,
    };
  }

  return {
    kind: 'agent-sandbox',
    label: 'agent-sandbox',
    async launch(assignment: WorkerAssignment) {
      await writeSecret();
      const name = jobName(assignment.labels);
      const body = {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'SandboxClaim',
        metadata: { name, namespace, labels: attemptLabels(assignment.labels) },
        spec: {
          warmPoolRef: { name: opts.warmPool },
          lifecycle: {
            shutdownPolicy: 'Delete',
            shutdownTime: new Date(
              Date.now() + assignment.maxDurationMs + SHUTDOWN_MARGIN_MS,
            ).toISOString(),
          },
        },
      };
      try {
        await custom.createNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace,
          plural: CLAIMS,
          body,
        });
      } catch (err) {
        // 409: this attempt's claim exists (a launch repeated after a crash): follow it.
        if (statusOf(err) !== 409)
          throw new ForgeError(
            'unavailable',
            `could not create SandboxClaim ${name} in ${namespace}: ${apiMessage(err)}`,
            { cause: err },
          );
      }
      return follow(name, assignment.token);
    },
    async follow(ref) {
      const name = nameOf(ref);
      if (!name) return null;
      const claim: unknown = await custom
        .getNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace,
          plural: CLAIMS,
          name,
        })
        .catch(() => null);
      // Its worker already holds its token: only its pod's fate is followed.
      return claim ? follow(name, null) : null;
    },
    async stop(ref) {
      const name = nameOf(ref);
      if (!name) return;
      const pod = offered.get(name);
      if (pod) opts.withdraw(pod);
      offered.delete(name);
      await custom
        .deleteNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace,
          plural: CLAIMS,
          name,
          propagationPolicy: 'Foreground',
        })
        .catch(() => undefined);
    },
    async held() {
      const list = (await custom
        .listNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace,
          plural: CLAIMS,
          labelSelector: WORKER_SELECTOR,
        })
        .catch(() => ({ items: [] }))) as { items?: Claim[] };
      return (list.items ?? []).flatMap((c) => {
        const labels: SandboxLabels | null = labelsOf(c.metadata);
        return labels && c.metadata?.name ? [{ ref: refOf(c.metadata.name), labels }] : [];
      });
    },
    async doctor(): Promise<DoctorCheck[]> {
      try {
        await custom.getNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace,
          plural: 'sandboxwarmpools',
          name: opts.warmPool,
        });
        if (opts.template)
          await custom.getNamespacedCustomObject({
            group: GROUP,
            version: VERSION,
            namespace,
            plural: 'sandboxtemplates',
            name: opts.template,
          });
        return [
          {
            name: 'agent-sandbox',
            ok: true,
            level: 'ok',
            detail: `warm pool ${opts.warmPool}${opts.template ? ` and template ${opts.template}` : ''} in ${namespace}`,
          },
        ];
      } catch (err) {
        return [
          {
            name: 'agent-sandbox',
            ok: false,
            level: 'error',
            detail: `cannot read SandboxWarmPool ${opts.warmPool}${opts.template ? ` or SandboxTemplate ${opts.template}` : ''} in ${namespace}: ${apiMessage(err)}; install agent-sandbox (v1beta1) and the chart's warm pool, or fix sandbox.warm_pool and sandbox.template`,
          },
        ];
      }
    },
  };
}
