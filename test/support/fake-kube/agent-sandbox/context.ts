/** What the fake controller's reconcilers share: the store, deletion through the garbage collector, and defect state. */
import type { ObjectStore } from '../object-store.ts';
import type { PropagationPolicy, ResourceType } from '../resources.ts';
import type { AgentSandboxDefects } from './defects.ts';

export interface ClaimMemo {
  /** Claims first seen with stuckNotReady on. */
  stuck: Set<string>;
  /** Claims first seen with flapReady on: False dips still to show. */
  flapsLeft: Map<string, number>;
  /** Claims bound to another claim's Sandbox (doubleAdopt): claim uid → Sandbox name. */
  doubled: Map<string, string>;
  /** Claims that adopted a not-ready Sandbox (adoptNotReady) and report Ready regardless. */
  forcedReady: Set<string>;
  /** The Sandbox most recently adopted, for doubleAdopt. */
  lastAdopted?: { sandbox: string; namespace: string; claimUid: string };
}

export interface ControllerContext {
  store: ObjectStore;
  deleteObject(
    type: ResourceType,
    namespace: string,
    name: string,
    propagationPolicy?: PropagationPolicy,
  ): void;
  defects: AgentSandboxDefects;
  memo: ClaimMemo;
  /** Runs another reconcile pass after `ms`. */
  requeueAfter(ms: number): void;
}
