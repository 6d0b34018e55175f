/**
 * The apiserver's validation beyond the OpenAPI schema, for the mistakes a manifest builder
 * actually makes: names and label values a cluster refuses, a Job whose pods would restart
 * forever, mounts of volumes that do not exist, and edits to a Job's immutable template.
 */
import type { Job, Pod, PodSpec } from './pod-types.ts';
import type { KubeObject } from './resources.ts';

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;

/** Name (with a kind-specific length limit) and labels. */
export function checkMeta(obj: KubeObject, maxName = 253): string[] {
  const errors: string[] = [];
  const meta = obj.metadata ?? {};
  const name = meta.name || `${meta.generateName ?? ''}xxxxx`;
  if (!meta.name && !meta.generateName) {
    errors.push('metadata.name: Required value: name or generateName is required');
  } else if (!DNS_SUBDOMAIN.test(name) || name.length > maxName) {
    errors.push(
      `metadata.name: Invalid value: "${name}": a lowercase RFC 1123 subdomain of at most ${maxName} characters must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
    );
  }
  errors.push(...checkLabels(meta.labels, 'metadata.labels'));
  return errors;
}

function checkLabels(labels: Record<string, string> | undefined, path: string): string[] {
  const errors: string[] = [];
  for (const [key, value] of Object.entries(labels ?? {})) {
    const [prefix, name] = key.includes('/') ? key.split('/', 2) : [undefined, key];
    if (
      (prefix !== undefined && !DNS_SUBDOMAIN.test(prefix)) ||
      !name ||
      name.length > 63 ||
      !LABEL_VALUE.test(name)
    ) {
      errors.push(
        `${path}: Invalid value: "${key}": a label key must be an optional DNS subdomain prefix and '/', then a name of at most 63 alphanumeric characters, '-', '_' or '.', starting and ending with an alphanumeric character`,
      );
    }
    if (typeof value === 'string' && (value.length > 63 || !LABEL_VALUE.test(value))) {
      errors.push(
        `${path}: Invalid value: "${value}": a valid label must be an empty string or consist of at most 63 alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
      );
    }
  }
  return errors;
}

export function checkPodSpec(spec: PodSpec | undefined, path: string): string[] {
  if (!spec?.containers) return [];
  const errors: string[] = [];
  const volumes = new Set((spec.volumes ?? []).map((v) => v.name));
  const names = new Set<string>();
  const groups = [
    ['initContainers', spec.initContainers ?? []],
    ['containers', spec.containers],
  ] as const;
  for (const [field, containers] of groups) {
    containers.forEach((c, i) => {
      const at = `${path}.${field}[${i}]`;
      if (c.name && !DNS_LABEL.test(c.name))
        errors.push(
          `${at}.name: Invalid value: "${c.name}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character`,
        );
      if (names.has(c.name)) errors.push(`${at}.name: Duplicate value: "${c.name}"`);
      names.add(c.name);
      if (c.image !== undefined && c.image.trim() === '')
        errors.push(`${at}.image: Required value`);
      (c.env ?? []).forEach((e, j) => {
        if (e.name && !ENV_NAME.test(e.name))
          errors.push(
            `${at}.env[${j}].name: Invalid value: "${e.name}": a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit`,
          );
        if (e.value !== undefined && e.valueFrom)
          errors.push(
            `${at}.env[${j}].valueFrom: Invalid value: "": may not be specified when \`value\` is not empty`,
          );
      });
      (c.volumeMounts ?? []).forEach((m, j) => {
        if (!volumes.has(m.name))
          errors.push(`${at}.volumeMounts[${j}].name: Not found: "${m.name}"`);
        if (m.mountPath && !m.mountPath.startsWith('/'))
          errors.push(
            `${at}.volumeMounts[${j}].mountPath: Invalid value: "${m.mountPath}": must be an absolute path`,
          );
      });
    });
  }
  return errors;
}

export function checkPod(obj: KubeObject): string[] {
  return checkPodSpec((obj as Pod).spec, 'spec');
}

export function checkJob(obj: KubeObject): string[] {
  const spec = (obj as Job).spec;
  if (!spec?.template) return [];
  const errors = checkPodSpec(spec.template.spec, 'spec.template.spec');
  const policy = spec.template.spec?.restartPolicy;
  if (policy !== 'Never' && policy !== 'OnFailure') {
    errors.push(
      `spec.template.spec.restartPolicy: ${policy === undefined ? 'Required value' : `Unsupported value: "${policy}"`}: supported values: "OnFailure", "Never"`,
    );
  }
  errors.push(...checkLabels(spec.template.metadata?.labels, 'spec.template.metadata.labels'));
  return errors;
}

/** A Job's template, selector and completions cannot change once created. */
export function checkJobUpdate(next: KubeObject, old: KubeObject): string[] {
  const [a, b] = [(next as Job).spec, (old as Job).spec];
  return (['template', 'selector', 'completions', 'completionMode'] as const)
    .filter((f) => canonical(a?.[f]) !== canonical(b?.[f]))
    .map((f) => `spec.${f}: Invalid value: field is immutable`);
}

export function checkSecret(obj: KubeObject): string[] {
  const keys = [...Object.keys(obj.data ?? {}), ...Object.keys(obj.stringData ?? {})];
  return keys
    .filter((k) => !SECRET_KEY.test(k))
    .map(
      (k) =>
        `data[${k}]: Invalid value: "${k}": a valid config key must consist of alphanumeric characters, '-', '_' or '.'`,
    );
}

/** JSON with sorted keys, so key order (which clients do not keep) does not count as a change. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, value: unknown) =>
    value && typeof value === 'object' && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value).sort(([x], [y]) => (x < y ? -1 : 1)))
      : value,
  );
}
