/**
 * Switches that make the fake controller misbehave the way the real agent-sandbox controller is
 * known to (see issue 13), so Forge's handling of each can be tested. Each applies to claims the
 * controller first sees (stuckNotReady, flapReady) or adopts for (doubleAdopt, adoptNotReady)
 * while it is on; turning it off does not heal claims already affected.
 */
export interface AgentSandboxDefects {
  /** A claim is bound to the Sandbox (and pod) another live claim already adopted: its
   *  status.sandbox.name names that Sandbox and it turns Ready, while the Sandbox, and so its pod's
   *  `agents.x-k8s.io/claim-uid` label, stay with the first claim. */
  doubleAdopt: boolean;
  /** A claim gets Ready=False (reason SandboxNotReady) and then nothing more: no Sandbox, no
   *  failure reason, never Ready. */
  stuckNotReady: boolean;
  /** A claim's Ready goes True, then False (DependenciesNotReady), FLAP_COUNT times over, a few
   *  milliseconds apart, before it settles True. */
  flapReady: boolean;
  /** A claim adopts a warm Sandbox whose pod is not Ready (preferring one over a Ready one) and
   *  reports Ready=True (DependenciesReady) at once, whatever the pod does. */
  adoptNotReady: boolean;
}

export const FLAP_COUNT = 3;
export const FLAP_INTERVAL_MS = 20;

export function noDefects(): AgentSandboxDefects {
  return { doubleAdopt: false, stuckNotReady: false, flapReady: false, adoptNotReady: false };
}
