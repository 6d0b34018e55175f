/**
 * Admission checks a real cluster makes before a pod exists: its RuntimeClass and its
 * ServiceAccount must exist. A refused pod is 403 Forbidden through the API; for a Job's pod the
 * Job controller records a FailedCreate event instead and the Job runs nothing.
 */
import type { Pod } from './pod-types.ts';

export interface AdmissionOptions {
  /** RuntimeClasses that exist (a fresh cluster has none). */
  runtimeClasses: string[];
  /** ServiceAccounts that exist in every namespace, besides `default`. */
  serviceAccounts: string[];
}

/** Why the pod is refused, in the apiserver's words; null when it is admitted. */
export function podAdmissionError(pod: Pod, opts: AdmissionOptions): string | null {
  const name = pod.metadata.name || `${pod.metadata.generateName ?? ''}`;
  const runtimeClass = pod.spec.runtimeClassName as string | undefined;
  if (runtimeClass && !opts.runtimeClasses.includes(runtimeClass)) {
    return `pods "${name}" is forbidden: pod rejected: RuntimeClass "${runtimeClass}" not found`;
  }
  const account = (pod.spec.serviceAccountName as string | undefined) ?? 'default';
  if (account !== 'default' && !opts.serviceAccounts.includes(account)) {
    return `pods "${name}" is forbidden: error looking up service account ${pod.metadata.namespace}/${account}: serviceaccount "${account}" not found`;
  }
  return null;
}
