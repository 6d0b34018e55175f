/**
 * `forge doctor` for the Kubernetes sandbox: the API answers (and its version), the worker
 * namespace exists, and Forge's account may do what launching, watching and removing workers
 * takes (one SelfSubjectAccessReview per verb and resource; skipped with a warning when the API
 * does not offer them). The image and `worker_url` cannot be checked from here: a worker that
 * cannot pull or dial home says so in the failure of its attempt.
 */
import type { DoctorCheck } from '../../../ports/doctor-check.ts';
import { apiMessage, statusOf, type KubeClients } from './kube-client.ts';

/** What the launcher does, as [verb, group, resource, subresource]. */
const NEEDED: Array<[string, string, string, string?]> = [
  ['create', 'batch', 'jobs'],
  ['get', 'batch', 'jobs'],
  ['patch', 'batch', 'jobs'],
  ['delete', 'batch', 'jobs'],
  ['list', 'batch', 'jobs'],
  ['watch', 'batch', 'jobs'],
  ['create', '', 'secrets'],
  ['update', '', 'secrets'],
  ['delete', '', 'secrets'],
  ['list', '', 'secrets'],
  ['list', '', 'pods'],
  ['watch', '', 'pods'],
  ['delete', '', 'pods'],
  ['get', '', 'pods', 'log'],
  ['list', '', 'events'],
];

export async function kubeDoctor(
  clients: KubeClients,
  config: { namespace: string },
): Promise<DoctorCheck[]> {
  const api = await apiCheck(clients);
  if (!api.ok) return [api];
  return [
    api,
    await namespaceCheck(clients, config.namespace),
    await permissionsCheck(clients, config.namespace),
  ];
}

async function apiCheck(clients: KubeClients): Promise<DoctorCheck> {
  const name = 'kubernetes API';
  try {
    const version = await clients.version.getCode();
    return {
      name,
      ok: true,
      level: 'ok',
      detail: `reachable at ${clients.server} (Kubernetes ${version.gitVersion})`,
    };
  } catch (err) {
    return {
      name,
      ok: false,
      level: 'error',
      detail: `cannot reach the Kubernetes API at ${clients.server}: ${apiMessage(err)}; check sandbox.kubeconfig and sandbox.context (or the pod's service account when Forge runs in the cluster)`,
    };
  }
}

async function namespaceCheck(clients: KubeClients, namespace: string): Promise<DoctorCheck> {
  const name = 'kubernetes namespace';
  const missing: DoctorCheck = {
    name,
    ok: false,
    level: 'error',
    detail: `namespace ${namespace} does not exist; create it (kubectl create namespace ${namespace}) or set sandbox.namespace`,
  };
  try {
    await clients.core.readNamespace({ name: namespace });
    return { name, ok: true, level: 'ok', detail: `${namespace} exists` };
  } catch (err) {
    if (statusOf(err) === 404 && apiMessage(err).includes(`namespaces "${namespace}" not found`))
      return missing;
    // Forge's account may not get namespaces (a namespaced Role cannot grant it): what it can
    // do in the namespace is the next best evidence.
  }
  try {
    await clients.batch.listNamespacedJob({ namespace, limit: 1 });
    return { name, ok: true, level: 'ok', detail: `${namespace}: Jobs can be listed there` };
  } catch (err) {
    if (statusOf(err) === 404) return missing;
    return {
      name,
      ok: false,
      level: 'error',
      detail: `cannot list Jobs in namespace ${namespace}: ${apiMessage(err)}; check that it exists and that Forge's account may list Jobs there`,
    };
  }
}

async function permissionsCheck(clients: KubeClients, namespace: string): Promise<DoctorCheck> {
  const name = 'kubernetes permissions';
  let denied: string[];
  try {
    const answers = await Promise.all(
      NEEDED.map(async ([verb, group, resource, subresource]) => {
        const review = await clients.authorization.createSelfSubjectAccessReview({
          body: {
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SelfSubjectAccessReview',
            spec: {
              resourceAttributes: {
                namespace,
                verb,
                group,
                resource,
                ...(subresource ? { subresource } : {}),
              },
            },
          },
        });
        const what = `${verb} ${resource}${subresource ? `/${subresource}` : ''}${group ? `.${group}` : ''}`;
        return review.status?.allowed ? null : what;
      }),
    );
    denied = answers.filter((a): a is string => a !== null);
  } catch (err) {
    return {
      name,
      ok: true,
      level: 'warn',
      detail: `could not ask the API what Forge may do (${apiMessage(err)}); launching a worker will tell`,
    };
  }
  if (denied.length === 0)
    return {
      name,
      ok: true,
      level: 'ok',
      detail: `may manage worker Jobs, Secrets and pods in ${namespace}`,
    };
  return {
    name,
    ok: false,
    level: 'error',
    detail: `Forge's Kubernetes account may not ${denied.join(', ')} in namespace ${namespace}; grant them with a Role and RoleBinding (the chart's Role does)`,
  };
}
