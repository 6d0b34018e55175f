/**
 * The resource table: every kind the fake API serves, keyed by group/version/plural. Custom
 * resources (e.g. agent-sandbox's SandboxClaim) are added by passing more entries to
 * startFakeKube({ resources }) with their own validator, since the reference schemas only cover
 * core v1, batch/v1 and networking.k8s.io/v1.
 */
import { validateKubeObject } from '../kube-schema.ts';
import { defaultJob, defaultPod, secretStringData } from './defaults.ts';
import { checkJob, checkJobUpdate, checkMeta, checkPod, checkSecret } from './semantic-checks.ts';

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}
export interface ObjectMeta {
  name: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
}
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: unknown;
  status?: unknown;
  [field: string]: unknown;
}

export type PropagationPolicy = 'Orphan' | 'Background' | 'Foreground';

export interface ResourceType {
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
  /** Tracks metadata.generation (bumped when spec changes). */
  hasSpec: boolean;
  /** DELETE's default propagationPolicy: the apiserver still orphans a Job's pods by default. */
  defaultPropagation: PropagationPolicy;
  /** The object's problems; [] when valid. Defaults to the reference schema check. */
  validate(obj: KubeObject): string[];
  /** Problems with an update beyond validate (immutable fields). */
  validateUpdate?(next: KubeObject, old: KubeObject): string[];
  /** The apiserver's defaulting, run on create once uid is assigned. */
  prepare?(obj: KubeObject): void;
  /** Conversion run on every write before storing (a Secret's stringData becomes data). */
  normalize?(obj: KubeObject): void;
}

export function apiVersionOf(type: Pick<ResourceType, 'group' | 'version'>): string {
  return type.group ? `${type.group}/${type.version}` : type.version;
}
export function resourceKey(type: Pick<ResourceType, 'group' | 'version' | 'plural'>): string {
  return `${type.group}/${type.version}/${type.plural}`;
}

function core(plural: string, kind: string, extra: Partial<ResourceType> = {}): ResourceType {
  return {
    group: '',
    version: 'v1',
    plural,
    kind,
    namespaced: true,
    hasSpec: false,
    defaultPropagation: 'Background',
    validate: (obj) => [...validateKubeObject(obj), ...checkMeta(obj)],
    ...extra,
  };
}

export const PODS = core('pods', 'Pod', {
  hasSpec: true,
  validate: (obj) => [...validateKubeObject(obj), ...checkMeta(obj), ...checkPod(obj)],
  prepare: defaultPod,
});
export const SECRETS = core('secrets', 'Secret', {
  validate: (obj) => [...validateKubeObject(obj), ...checkMeta(obj), ...checkSecret(obj)],
  normalize: secretStringData,
});
export const CONFIGMAPS = core('configmaps', 'ConfigMap');
export const NAMESPACES = core('namespaces', 'Namespace', {
  namespaced: false,
  prepare: (obj) => {
    obj.metadata.labels = {
      ...obj.metadata.labels,
      'kubernetes.io/metadata.name': obj.metadata.name,
    };
    obj.spec = { finalizers: ['kubernetes'] };
    obj.status = { phase: 'Active' };
  },
});
export const EVENTS = core('events', 'Event');
export const JOBS: ResourceType = {
  group: 'batch',
  version: 'v1',
  plural: 'jobs',
  kind: 'Job',
  namespaced: true,
  hasSpec: true,
  defaultPropagation: 'Orphan',
  validate: (obj) => [...validateKubeObject(obj), ...checkMeta(obj, 63), ...checkJob(obj)],
  validateUpdate: checkJobUpdate,
  prepare: defaultJob,
};

export const BUILT_IN: ResourceType[] = [NAMESPACES, PODS, SECRETS, CONFIGMAPS, EVENTS, JOBS];
