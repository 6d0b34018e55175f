/**
 * What the kubelet prepares before a container starts: its environment (value, secretKeyRef,
 * configMapKeyRef, fieldRef, envFrom) and its volumes (emptyDir and secret/configMap as files in
 * temp dirs), with the kubelet's error wording when a referenced Secret or key is missing.
 *
 * The one liberty: a local process cannot see a container path like /workspace, so every
 * volumeMounts[].mountPath is rewritten to its temp dir wherever it appears as a path prefix in
 * command, args, workingDir and env values.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ObjectStore } from './object-store.ts';
import type { Container, Pod } from './pod-types.ts';
import { CONFIGMAPS, SECRETS } from './resources.ts';

/** Reads Secrets (base64-decoded) and ConfigMaps of one namespace from the store. */
export function storeLookup(store: ObjectStore, namespace: string): Lookup {
  return (kind, name) => {
    const obj = store.get(kind === 'secrets' ? SECRETS : CONFIGMAPS, namespace, name);
    if (!obj) return undefined;
    const data = (obj.data ?? {}) as Record<string, string>;
    if (kind === 'configmaps') return data;
    return Object.fromEntries(
      Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]),
    );
  };
}

/** Decoded data of a stored Secret or ConfigMap, undefined when there is none by that name. */
export type Lookup = (
  kind: 'secrets' | 'configmaps',
  name: string,
) => Record<string, string> | undefined;
export type Result<T> = { ok: true; value: T } | { ok: false; message: string };

function keyRef(
  lookup: Lookup,
  kind: 'secrets' | 'configmaps',
  pod: Pod,
  ref: { name: string; key: string; optional?: boolean },
): Result<string | undefined> {
  const noun = kind === 'secrets' ? 'secret' : 'configmap';
  const data = lookup(kind, ref.name);
  if (!data)
    return ref.optional
      ? { ok: true, value: undefined }
      : { ok: false, message: `${noun} "${ref.name}" not found` };
  const value = data[ref.key];
  if (value === undefined && !ref.optional) {
    const kindName = kind === 'secrets' ? 'Secret' : 'ConfigMap';
    return {
      ok: false,
      message: `couldn't find key ${ref.key} in ${kindName} ${pod.metadata.namespace}/${ref.name}`,
    };
  }
  return { ok: true, value };
}

function fieldRef(pod: Pod, path: string): string {
  const label = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (label) return pod.metadata[label[1] as 'labels' | 'annotations']?.[label[2] ?? ''] ?? '';
  const fields: Record<string, string | undefined> = {
    'metadata.name': pod.metadata.name,
    'metadata.namespace': pod.metadata.namespace,
    'metadata.uid': pod.metadata.uid,
    'spec.nodeName': pod.spec.nodeName,
    'spec.serviceAccountName': pod.spec.serviceAccountName as string | undefined,
    'status.podIP': '127.0.0.1',
    'status.hostIP': '127.0.0.1',
  };
  return fields[path] ?? '';
}

/** The container's environment as the kubelet builds it (image env first, then envFrom, then env). */
export function resolveEnv(
  pod: Pod,
  c: Container,
  imageEnv: Record<string, string>,
  lookup: Lookup,
): Result<Record<string, string>> {
  const env: Record<string, string> = { HOSTNAME: pod.metadata.name, ...imageEnv };
  for (const from of c.envFrom ?? []) {
    if (!from.secretRef) continue;
    const data = lookup('secrets', from.secretRef.name);
    if (!data && !from.secretRef.optional)
      return { ok: false, message: `secret "${from.secretRef.name}" not found` };
    for (const [k, v] of Object.entries(data ?? {})) env[`${from.prefix ?? ''}${k}`] = v;
  }
  for (const e of c.env ?? []) {
    const from = e.valueFrom;
    let r: Result<string | undefined> = { ok: true, value: e.value ?? '' };
    if (from?.secretKeyRef) r = keyRef(lookup, 'secrets', pod, from.secretKeyRef);
    else if (from?.configMapKeyRef) r = keyRef(lookup, 'configmaps', pod, from.configMapKeyRef);
    else if (from?.fieldRef) r = { ok: true, value: fieldRef(pod, from.fieldRef.fieldPath) };
    if (!r.ok) return r;
    // $(VAR) refers to an earlier variable, as in the kubelet.
    if (r.value !== undefined)
      env[e.name] = r.value.replace(/\$\(([-._a-zA-Z0-9]+)\)/g, (m, n: string) => env[n] ?? m);
  }
  return { ok: true, value: env };
}

/** Creates each volume under `root`; the volume name maps to its host dir. Missing sources fail as FailedMount. */
export async function mountVolumes(
  pod: Pod,
  root: string,
  lookup: Lookup,
): Promise<Result<Map<string, string>>> {
  const dirs = new Map<string, string>();
  for (const v of pod.spec.volumes ?? []) {
    const dir = join(root, 'volumes', v.name);
    await mkdir(dir, { recursive: true });
    dirs.set(v.name, dir);
    const source = v.secret
      ? {
          kind: 'secrets' as const,
          name: v.secret.secretName,
          items: v.secret.items,
          optional: v.secret.optional,
          mode: v.secret.defaultMode,
        }
      : v.configMap
        ? {
            kind: 'configmaps' as const,
            name: v.configMap.name,
            items: v.configMap.items,
            optional: v.configMap.optional,
            mode: undefined,
          }
        : undefined;
    if (!source) {
      if (v.emptyDir) continue;
      const type = Object.keys(v).find((k) => k !== 'name');
      return {
        ok: false,
        message: `the fake kubelet cannot mount volume "${v.name}" of type ${type}: use emptyDir, secret or configMap in tests`,
      };
    }
    const data = lookup(source.kind, source.name);
    if (!data) {
      if (source.optional) continue;
      const noun = source.kind === 'secrets' ? 'secret' : 'configmap';
      return {
        ok: false,
        message: `MountVolume.SetUp failed for volume "${v.name}" : ${noun} "${source.name}" not found`,
      };
    }
    const items = source.items ?? Object.keys(data).map((key) => ({ key, path: key }));
    for (const item of items) {
      const value = data[item.key];
      if (value === undefined)
        return {
          ok: false,
          message: `MountVolume.SetUp failed for volume "${v.name}" : references non-existent ${source.kind === 'secrets' ? 'secret' : 'config'} key: ${item.key}`,
        };
      const file = join(dir, item.path);
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, value);
      await chmod(file, (item as { mode?: number }).mode ?? source.mode ?? 0o644);
    }
  }
  return { ok: true, value: dirs };
}

/** (mountPath, host dir) pairs for a container, longest mountPath first so /a/b wins over /a. */
export function mountsOf(c: Container, volumes: Map<string, string>): Array<[string, string]> {
  return (c.volumeMounts ?? [])
    .map((m): [string, string] => [
      m.mountPath.replace(/\/+$/, '') || '/',
      join(volumes.get(m.name) ?? '', m.subPath ?? ''),
    ])
    .sort((a, b) => b[0].length - a[0].length);
}

/** Rewrites every mount path that appears as a path prefix in `value` to its host dir. */
export function rewritePaths(value: string, mounts: Array<[string, string]>): string {
  for (const [mountPath, host] of mounts) {
    const escaped = mountPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    value = value.replace(
      new RegExp(`(^|[^\\w./-])${escaped}(?=/|$|[^\\w.-])`, 'g'),
      (_m, lead: string) => `${lead}${host}`,
    );
  }
  return value;
}
