/**
 * The fake cluster's etcd: every object of every resource type, one global resourceVersion
 * counter (as strings on the wire), and a bounded history of changes that watches replay from.
 * A watch from a version older than the history answers 410 Expired, as the apiserver's watch
 * cache does once it has compacted; keep the window small in tests to provoke that.
 */
import { randomUUID } from 'node:crypto';
import { alreadyExists, conflict, expired, notFound } from './status.ts';
import { resourceKey, type KubeObject, type ResourceType } from './resources.ts';

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';
export interface Change {
  type: ChangeType;
  resource: ResourceType;
  object: KubeObject;
  /** The object before a MODIFIED change, so a watch with a selector can tell an object left it. */
  previous?: KubeObject;
  rv: number;
}

export function now(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

const ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
/** The apiserver's generateName suffix: five characters from an alphabet without vowels. */
export function randomSuffix(): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += ALPHABET[Math.floor(Math.random() * ALPHABET.length)];
  return s;
}

export class ObjectStore {
  private rv = 0;
  private readonly objects = new Map<string, KubeObject>();
  private history: Change[] = [];
  /** Highest resourceVersion dropped from the history; watching from below it is 410. */
  private compacted = 0;
  private readonly listeners = new Set<(change: Change) => void>();

  private readonly window: number;

  constructor(window: number) {
    this.window = window;
  }

  get resourceVersion(): string {
    return String(this.rv);
  }

  onChange(listener: (change: Change) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get(type: ResourceType, namespace: string, name: string): KubeObject | undefined {
    const obj = this.objects.get(key(type, namespace, name));
    return obj && structuredClone(obj);
  }

  /** Objects of a type, in one namespace or (namespace undefined) all of them, oldest first. */
  list(type: ResourceType, namespace?: string): KubeObject[] {
    const prefix = `${resourceKey(type)}|${namespace === undefined ? '' : `${namespace}|`}`;
    return [...this.objects.entries()]
      .filter(([k]) => k.startsWith(prefix))
      .map(([, o]) => structuredClone(o));
  }

  /** All objects of any type whose ownerReferences name `uid`. */
  dependents(uid: string): Array<{ type: ResourceType; object: KubeObject }> {
    const found: Array<{ type: ResourceType; object: KubeObject }> = [];
    for (const [k, o] of this.objects) {
      if (o.metadata.ownerReferences?.some((r) => r.uid === uid)) {
        found.push({ type: this.types.get(k.split('|', 1)[0] ?? '')!, object: structuredClone(o) });
      }
    }
    return found;
  }

  private readonly types = new Map<string, ResourceType>();

  /** Stores a new object, filling in uid, resourceVersion, creationTimestamp and generateName. */
  create(type: ResourceType, input: KubeObject): KubeObject {
    const obj = structuredClone(input);
    const meta = obj.metadata;
    if (!meta.name && meta.generateName) {
      do meta.name = `${meta.generateName}${randomSuffix()}`;
      while (this.objects.has(key(type, meta.namespace ?? '', meta.name)));
    }
    const k = key(type, meta.namespace ?? '', meta.name);
    if (this.objects.has(k)) throw alreadyExists(type, meta.name);
    meta.uid = randomUUID();
    meta.creationTimestamp = now();
    if (type.hasSpec) meta.generation = 1;
    delete meta.deletionTimestamp;
    type.prepare?.(obj);
    this.types.set(resourceKey(type), type);
    return this.commit('ADDED', type, k, obj);
  }

  /**
   * Replaces an object. With `expectedRv` (the client's metadata.resourceVersion) a stale write is
   * 409 Conflict; the server-owned metadata (uid, creationTimestamp) always survives.
   */
  update(type: ResourceType, next: KubeObject, expectedRv?: string): KubeObject {
    const k = key(type, next.metadata.namespace ?? '', next.metadata.name);
    const old = this.objects.get(k);
    if (!old) throw notFound(type, next.metadata.name);
    if (expectedRv && expectedRv !== old.metadata.resourceVersion)
      throw conflict(type, next.metadata.name);
    const obj = structuredClone(next);
    obj.metadata.uid = old.metadata.uid;
    obj.metadata.creationTimestamp = old.metadata.creationTimestamp;
    if (type.hasSpec) {
      const specChanged = JSON.stringify(obj.spec) !== JSON.stringify(old.spec);
      obj.metadata.generation = (old.metadata.generation ?? 1) + (specChanged ? 1 : 0);
    }
    if (
      JSON.stringify({ ...obj, metadata: { ...obj.metadata, resourceVersion: '' } }) ===
      JSON.stringify({ ...old, metadata: { ...old.metadata, resourceVersion: '' } })
    ) {
      return structuredClone(old); // a no-op write does not bump the version, as in the apiserver
    }
    return this.commit('MODIFIED', type, k, obj, old);
  }

  /** Applies `change` to the current object (controllers' writes); undefined when it is gone. */
  mutate(
    type: ResourceType,
    namespace: string,
    name: string,
    change: (obj: KubeObject) => void,
  ): KubeObject | undefined {
    const current = this.get(type, namespace, name);
    if (!current) return undefined;
    change(current);
    return this.update(type, current);
  }

  remove(type: ResourceType, namespace: string, name: string): KubeObject {
    const k = key(type, namespace, name);
    const old = this.objects.get(k);
    if (!old) throw notFound(type, name);
    this.objects.delete(k);
    return this.commit('DELETED', type, k, structuredClone(old));
  }

  /**
   * Forgets the whole history, as the watch cache of a restarted apiserver does: a watch from any
   * resourceVersion handed out so far is then 410 Expired, while a fresh list's version works.
   */
  compact(): void {
    this.rv += 1; // the cluster moved on meanwhile (leases, other kinds)
    this.compacted = this.rv;
    this.history = [];
  }

  /** Changes after `rv`, or a 410 error when the history no longer reaches back that far. */
  changesSince(rv: number): Change[] {
    if (rv < this.compacted) throw expired(String(rv), this.compacted + 1);
    return this.history.filter((c) => c.rv > rv);
  }

  private commit(
    type: ChangeType,
    resource: ResourceType,
    k: string,
    obj: KubeObject,
    previous?: KubeObject,
  ): KubeObject {
    this.rv += 1;
    obj.metadata.resourceVersion = String(this.rv);
    if (type !== 'DELETED') this.objects.set(k, obj);
    const change: Change = { type, resource, object: structuredClone(obj), rv: this.rv };
    if (previous) change.previous = structuredClone(previous);
    this.history.push(change);
    while (this.history.length > this.window) this.compacted = this.history.shift()!.rv;
    this.dispatch(change);
    return structuredClone(obj);
  }

  private readonly pending: Change[] = [];
  private dispatching = false;

  /** Listeners see changes one at a time in resourceVersion order, even when one writes. */
  private dispatch(change: Change): void {
    this.pending.push(change);
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      for (let c = this.pending.shift(); c; c = this.pending.shift()) {
        for (const listener of [...this.listeners]) listener(c);
      }
    } finally {
      this.dispatching = false;
    }
  }
}

function key(type: ResourceType, namespace: string, name: string): string {
  return `${resourceKey(type)}|${namespace}|${name}`;
}
