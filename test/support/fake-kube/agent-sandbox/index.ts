/**
 * A fake kubernetes-sigs/agent-sandbox on the fake cluster: the v1beta1 API (Sandbox,
 * SandboxTemplate, SandboxWarmPool, SandboxClaim, each checked against its reference CRD) and a
 * controller with the real one's observable behaviour, whose pods the fake kubelet runs as local
 * processes.
 *
 *   const fake = await startFakeAgentSandbox({ images: { 'forge:test': { … } } });
 *   // create a SandboxTemplate and a SandboxWarmPool through the API, then SandboxClaims
 *   await fake.agentSandbox.waitFor(() => fake.agentSandbox.warmPods().length === 2);
 *   fake.agentSandbox.defects.doubleAdopt = true; // see defects.ts
 *
 * Liberties: a claim with no Ready warm Sandbox goes cold at once (the real controller first waits
 * up to 2s for a warm candidate's pod IP); CEL rules in the CRDs are not evaluated; no Services,
 * NetworkPolicies or PVCs are made.
 */
import { startFakeKube, type FakeKube, type FakeKubeOptions, type Pod } from '../index.ts';
import { AgentSandboxController } from './controller.ts';
import { noDefects, type AgentSandboxDefects } from './defects.ts';
import { WARM_POOL_LABEL } from './names.ts';
import { agentSandboxResources, SANDBOX_CLAIMS, SANDBOXES } from './resources.ts';
import type { Sandbox, SandboxClaim } from './types.ts';

export type { AgentSandboxDefects } from './defects.ts';
export type {
  Condition,
  Sandbox,
  SandboxClaim,
  SandboxTemplate,
  SandboxWarmPool,
} from './types.ts';
export * from './names.ts';
export {
  agentSandboxResources,
  SANDBOX_CLAIMS,
  SANDBOX_TEMPLATES,
  SANDBOX_WARM_POOLS,
  SANDBOXES,
} from './resources.ts';

export interface FakeAgentSandboxOptions extends FakeKubeOptions {
  /** Defects switched on from the start; change them later through fake.agentSandbox.defects. */
  defects?: Partial<AgentSandboxDefects>;
}

export interface AgentSandboxHooks {
  /** The controller's defect switches (defects.ts); set them at any time. */
  defects: AgentSandboxDefects;
  claims(namespace?: string): SandboxClaim[];
  sandboxes(namespace?: string): Sandbox[];
  /** Pods of Sandboxes still in a warm pool (not adopted by a claim). */
  warmPods(namespace?: string): Pod[];
  /** fake.waitFor: resolves with the first truthy value of `probe`, checked on every change. */
  waitFor<T>(probe: () => T | undefined | null | false, timeoutMs?: number): Promise<T>;
}

export type FakeAgentSandbox = FakeKube & { agentSandbox: AgentSandboxHooks };

export async function startFakeAgentSandbox(
  opts: FakeAgentSandboxOptions = {},
): Promise<FakeAgentSandbox> {
  const { defects: initial, ...kubeOpts } = opts;
  const fake = await startFakeKube({
    ...kubeOpts,
    resources: [...(kubeOpts.resources ?? []), ...agentSandboxResources()],
  });
  const defects: AgentSandboxDefects = { ...noDefects(), ...initial };
  const controller = new AgentSandboxController({
    store: fake.store,
    deleteObject: (type, namespace, name, propagationPolicy) =>
      fake.deleteObject(type, namespace, name, propagationPolicy ? { propagationPolicy } : {}),
    defects,
  });
  const sandboxes = (ns?: string): Sandbox[] =>
    (ns === undefined ? fake.store.list(SANDBOXES) : fake.store.list(SANDBOXES, ns)) as Sandbox[];
  const agentSandbox: AgentSandboxHooks = {
    defects,
    claims: (ns) =>
      (ns === undefined
        ? fake.store.list(SANDBOX_CLAIMS)
        : fake.store.list(SANDBOX_CLAIMS, ns)) as SandboxClaim[],
    sandboxes,
    warmPods(ns) {
      const warm = new Set(
        sandboxes(ns)
          .filter((s) => s.metadata.labels?.[WARM_POOL_LABEL])
          .map((s) => s.metadata.uid),
      );
      return fake.pods(ns).filter((p) => p.metadata.ownerReferences?.some((r) => warm.has(r.uid)));
    },
    waitFor: (probe, timeoutMs) => fake.waitFor(probe, timeoutMs),
  };
  const closeKube = fake.close.bind(fake);
  return Object.assign(fake, {
    agentSandbox,
    async close() {
      controller.close();
      await closeKube();
    },
  });
}
