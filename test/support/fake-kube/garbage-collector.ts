/**
 * DELETE with a propagationPolicy, as the apiserver and garbage collector carry it out:
 * Orphan strips the owner reference from dependents (the default for batch/v1 Jobs), Background
 * removes the owner at once and its dependents after, Foreground marks the owner (deletionTimestamp
 * plus the foregroundDeletion finalizer) and removes it once its dependents are gone. Pods go
 * through the kubelet so their processes get SIGTERM and the grace period.
 */
import type { DeleteOptions } from './api-server.ts';
import type { Kubelet } from './kubelet.ts';
import { now, type ObjectStore } from './object-store.ts';
import type { Pod } from './pod-types.ts';
import { PODS, type KubeObject, type ResourceType } from './resources.ts';
import { notFound } from './status.ts';

export class GarbageCollector {
  /** Owners waiting in foreground deletion, by uid. */
  private readonly waiting = new Map<
    string,
    { type: ResourceType; namespace: string; name: string }
  >();
  private readonly unsubscribe: () => void;

  private readonly store: ObjectStore;
  private readonly kubelet: Kubelet;

  constructor(store: ObjectStore, kubelet: Kubelet) {
    this.store = store;
    this.kubelet = kubelet;
    this.unsubscribe = store.onChange((c) => {
      if (c.type !== 'DELETED') return;
      for (const ref of c.object.metadata.ownerReferences ?? []) {
        const owner = this.waiting.get(ref.uid);
        if (owner && this.store.dependents(ref.uid).length === 0) {
          this.waiting.delete(ref.uid);
          setImmediate(() =>
            this.removeIfPresent(owner.type, owner.namespace, owner.name, ref.uid),
          );
        }
      }
    });
  }

  delete(type: ResourceType, namespace: string, name: string, options: DeleteOptions): KubeObject {
    const obj = this.store.get(type, namespace, name);
    if (!obj) throw notFound(type, name);
    const uid = obj.metadata.uid ?? '';
    const policy = options.propagationPolicy ?? type.defaultPropagation;
    const dependents = this.store.dependents(uid);
    if (policy === 'Orphan') {
      for (const d of dependents) {
        this.store.mutate(
          d.type,
          d.object.metadata.namespace ?? '',
          d.object.metadata.name,
          (o) => {
            o.metadata.ownerReferences = o.metadata.ownerReferences?.filter((r) => r.uid !== uid);
            if (o.metadata.ownerReferences?.length === 0) delete o.metadata.ownerReferences;
          },
        );
      }
    }
    if (policy === 'Foreground' && dependents.length > 0) {
      this.waiting.set(uid, { type, namespace, name });
      const marked = this.store.mutate(type, namespace, name, (o) => {
        o.metadata.deletionTimestamp = now();
        o.metadata.deletionGracePeriodSeconds = 0;
        o.metadata.finalizers = [...(o.metadata.finalizers ?? []), 'foregroundDeletion'];
      })!;
      this.deleteDependents(dependents);
      return marked;
    }
    const result =
      type === PODS
        ? this.kubelet.deletePod(obj as Pod, options.gracePeriodSeconds)
        : this.store.remove(type, namespace, name);
    if (policy === 'Background') setImmediate(() => this.deleteDependents(dependents));
    return result;
  }

  private deleteDependents(dependents: Array<{ type: ResourceType; object: KubeObject }>): void {
    for (const d of dependents) {
      const { namespace = '', name, uid } = d.object.metadata;
      if (this.store.get(d.type, namespace, name)?.metadata.uid !== uid) continue;
      this.delete(d.type, namespace, name, { propagationPolicy: 'Background' });
    }
  }

  private removeIfPresent(type: ResourceType, namespace: string, name: string, uid: string): void {
    if (this.store.get(type, namespace, name)?.metadata.uid === uid)
      this.store.remove(type, namespace, name);
  }

  close(): void {
    this.unsubscribe();
  }
}
