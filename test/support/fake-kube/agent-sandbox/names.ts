/**
 * The labels, annotations, condition types and reasons the real agent-sandbox controller
 * (kubernetes-sigs/agent-sandbox, api/v1beta1 and extensions/api/v1beta1) writes, spelled exactly
 * as it does, so code written against the fake reads the real cluster the same way.
 */
/** On a Sandbox: the pod it runs on (set when a claim adopts a warm Sandbox). */
export const POD_NAME_ANNOTATION = 'agents.x-k8s.io/pod-name';
/** On a claim: the Sandbox it adopted from a warm pool. */
export const ASSIGNED_SANDBOX_ANNOTATION = 'agents.x-k8s.io/sandbox-name';
export const TEMPLATE_REF_ANNOTATION = 'agents.x-k8s.io/sandbox-template-ref';
/** On an adopted or claim-created Sandbox and its pod template (so on the pod): the claim's uid. */
export const CLAIM_UID_LABEL = 'agents.x-k8s.io/claim-uid';
/** On a warm pool's Sandboxes: a hash of the pool's name; removed on adoption. */
export const WARM_POOL_LABEL = 'agents.x-k8s.io/warm-pool-sandbox';
export const TEMPLATE_REF_HASH_LABEL = 'agents.x-k8s.io/sandbox-template-ref-hash';
export const LAUNCH_TYPE_LABEL = 'agents.x-k8s.io/launch-type';
export const CREATED_BY_LABEL = 'agents.x-k8s.io/created-by';
/** On a Sandbox's pod: a hash of the Sandbox's name. */
export const SANDBOX_NAME_HASH_LABEL = 'agents.x-k8s.io/sandbox-name-hash';

export const READY = 'Ready';
export const REASON = {
  /** Sandbox Ready=True: its pod is Ready with an IP. */
  dependenciesReady: 'DependenciesReady',
  dependenciesNotReady: 'DependenciesNotReady',
  podSucceeded: 'PodSucceeded',
  podFailed: 'PodFailed',
  /** Ready=False: any other error, e.g. the pod could not be created. */
  reconcilerError: 'ReconcilerError',
  /** Claim Ready=False: spec.warmPoolRef names no SandboxWarmPool. */
  warmPoolNotFound: 'WarmPoolNotFound',
  /** Claim Ready=False: the pool's sandboxTemplateRef names no SandboxTemplate. */
  templateNotFound: 'TemplateNotFound',
  claimExpired: 'ClaimExpired',
  sandboxMissing: 'SandboxMissing',
  sandboxNotReady: 'SandboxNotReady',
} as const;

/** The controller's NameHash: FNV-1a 32 of the name as 8 hex digits. */
export function nameHash(name: string): string {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(name, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}
