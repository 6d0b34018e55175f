/**
 * The Helm chart (deploy/helm/forge), rendered by the real helm: it lints; every object it
 * renders is one a real API server would accept (the published OpenAPI schemas); the guardrails
 * are exactly the intended ones (the orchestrator's Role, the workers' NetworkPolicy, quota,
 * limits, pod security); the forge.yaml it writes passes Forge's own config validation with
 * every ${NAME} filled from the pod's environment, and holds no secret; values that would deploy
 * something broken or unsafe are refused with a message that says what to do. The Dockerfiles
 * name the versions package.json pins.
 */
import { loadCrd, validateCustomResource } from '../support/crd-schema.ts';
import { SPAWN_HELPER_PATH } from '../../src/adapters/sandbox/spawn-helper/helper-binary.ts';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type {
  V1ConfigMap,
  V1Container,
  V1Deployment,
  V1EnvVar,
  V1LimitRange,
  V1Namespace,
  V1NetworkPolicy,
  V1ObjectMeta,
  V1PodSpec,
  V1ResourceQuota,
  V1Role,
  V1RoleBinding,
  V1ServiceAccount,
  V1Volume,
} from '@kubernetes/client-node';
import { parse, parseAllDocuments } from 'yaml';
import { jobManifest } from '../../src/adapters/sandbox/kubernetes/job-manifest.ts';
import { loadConfig } from '../../src/config.ts';
import { helm, toolsDir } from '../support/helm.ts';
import { validateAgainst, validateKubeObject } from '../support/kube-schema.ts';

const CHART = 'deploy/helm/forge';
const ROOT = join(import.meta.dirname, '..', '..');
const RELEASE_NS = 'forge';
const WORKER_NS = 'forge-workers';

/** A rendered object; its kind says which client-node type it is. */
interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: V1ObjectMeta;
  [field: string]: unknown;
}
interface Kinds {
  ConfigMap: V1ConfigMap;
  Deployment: V1Deployment;
  LimitRange: V1LimitRange;
  Namespace: V1Namespace;
  NetworkPolicy: V1NetworkPolicy;
  ResourceQuota: V1ResourceQuota;
  Role: V1Role;
  RoleBinding: V1RoleBinding;
  ServiceAccount: V1ServiceAccount;
}
/** forge.yaml as written (before validation), the parts these tests read. */
interface RawConfig {
  server: { tokens: Array<{ token?: string }> };
  store: { token?: string; creds_file?: string };
  sandbox: { namespace: string; service_account: string; worker_url: string; image: string };
  forges?: Record<string, { token?: string }>;
  intake?: Record<string, { webhook_secret?: string }>;
}

const VALUE_SETS: Record<string, string[]> = {
  default: [],
  nats: ['-f', `${CHART}/values-nats.yaml`],
  example: ['-f', `${CHART}/values-example.yaml`],
};

async function render(args: string[] = []): Promise<KubeObject[]> {
  const result = await helm(['template', 'forge', CHART, '--namespace', RELEASE_NS, ...args]);
  if (result.code !== 0) throw new Error(`helm template failed:\n${result.stderr}`);
  return parseAllDocuments(result.stdout)
    .map((doc) => doc.toJS() as KubeObject | null)
    .filter((obj): obj is KubeObject => obj !== null);
}

/** Renders values the chart must refuse; returns helm's message. */
async function refusal(args: string[]): Promise<string> {
  const result = await helm(['template', 'forge', CHART, '--namespace', RELEASE_NS, ...args]);
  expect(result.code, `expected helm to refuse ${args.join(' ')}`).not.toBe(0);
  return result.stderr;
}

function all<K extends keyof Kinds>(objects: KubeObject[], kind: K): Kinds[K][] {
  return objects.filter((o) => o.kind === kind) as unknown as Kinds[K][];
}

function only<K extends keyof Kinds>(objects: KubeObject[], kind: K): Kinds[K] {
  const found = all(objects, kind);
  expect(found.map((o) => `${kind}/${o.metadata?.name}`)).toHaveLength(1);
  return found[0]!;
}

function podSpec(deployment: V1Deployment): V1PodSpec {
  return deployment.spec!.template.spec!;
}

function forgeContainer(deployment: V1Deployment): V1Container {
  const containers = podSpec(deployment).containers;
  expect(containers.map((c) => c.name)).toEqual(['forge']);
  return containers[0]!;
}

function forgeYaml(objects: KubeObject[]): string {
  return only(objects, 'ConfigMap').data!['forge.yaml']!;
}

function rawConfig(objects: KubeObject[]): RawConfig {
  return parse(forgeYaml(objects)) as RawConfig;
}

function volume(deployment: V1Deployment, name: string | undefined): V1Volume {
  const found = podSpec(deployment).volumes?.find((v) => v.name === name);
  expect(found, `volume ${name}`).toBeDefined();
  return found!;
}

function envOf(deployment: V1Deployment): V1EnvVar[] {
  return forgeContainer(deployment).env ?? [];
}

/** The orchestrator's environment as the kubelet would fill it: every Secret key a 32-character
 *  stand-in, the pod IP an address. Throws on an env entry the test does not know. */
function podEnv(deployment: V1Deployment): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of envOf(deployment)) {
    if (typeof entry.value === 'string') env[entry.name] = entry.value;
    else if (entry.valueFrom?.secretKeyRef)
      env[entry.name] = `stand-in-for-${entry.valueFrom.secretKeyRef.key}-`.padEnd(32, 'x');
    else if (entry.valueFrom?.fieldRef?.fieldPath === 'status.podIP') env[entry.name] = '10.1.2.3';
    else throw new Error(`unexpected env entry ${JSON.stringify(entry)}`);
  }
  return env;
}

function secretKeyRefs(deployment: V1Deployment): Array<{ name?: string; key: string }> {
  return envOf(deployment).flatMap((e) =>
    e.valueFrom?.secretKeyRef ? [e.valueFrom.secretKeyRef] : [],
  );
}

beforeAll(async () => {
  await toolsDir();
});

describe('helm lint and schema validation', () => {
  it.each(Object.keys(VALUE_SETS))('lints cleanly with the %s values', async (set) => {
    const result = await helm(['lint', '--strict', CHART, ...VALUE_SETS[set]!]);
    expect(result.stderr + result.stdout).toContain('0 chart(s) failed');
    expect(result.code).toBe(0);
  });

  it.each(Object.keys(VALUE_SETS))(
    'renders only objects a real API server accepts with the %s values',
    async (set) => {
      const objects = await render(VALUE_SETS[set]);
      const problems: string[] = [];
      for (const obj of objects) {
        const where = `${obj.kind}/${obj.metadata?.name}`;
        // apps/v1 and RBAC have no reference document: their parts that are core v1 are checked.
        const deployment = obj as unknown as V1Deployment;
        const errors =
          obj.kind === 'Deployment'
            ? [
                ...validateAgainst('io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta', obj.metadata),
                ...validateAgainst(
                  'io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector',
                  deployment.spec?.selector,
                ),
                ...validateAgainst('io.k8s.api.core.v1.PodTemplateSpec', deployment.spec?.template),
              ]
            : obj.apiVersion === 'rbac.authorization.k8s.io/v1'
              ? validateAgainst('io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta', obj.metadata)
              : validateKubeObject(obj);
        problems.push(...errors.map((e) => `${where}: ${e}`));
      }
      expect(problems).toEqual([]);
      // What of apps/v1 and RBAC the part-by-part check above cannot see.
      const deployment = only(objects, 'Deployment');
      expect(Object.keys(deployment.spec!).sort()).toEqual(
        ['replicas', 'selector', 'strategy', 'template'].sort(),
      );
      expect(['Recreate', 'RollingUpdate']).toContain(deployment.spec!.strategy!.type);
      expect(deployment.spec!.template.metadata?.labels).toMatchObject(
        deployment.spec!.selector.matchLabels!,
      );
      expect(Object.keys(only(objects, 'Role')).sort()).toEqual(
        ['apiVersion', 'kind', 'metadata', 'rules'].sort(),
      );
      expect(Object.keys(only(objects, 'RoleBinding')).sort()).toEqual(
        ['apiVersion', 'kind', 'metadata', 'roleRef', 'subjects'].sort(),
      );
      // Anything else would have skipped the schema check above.
      expect(new Set(objects.map((o) => `${o.apiVersion} ${o.kind}`))).toEqual(
        new Set([
          'v1 Namespace',
          'v1 ConfigMap',
          'v1 Service',
          'v1 ServiceAccount',
          ...(set === 'nats' ? [] : ['v1 PersistentVolumeClaim']),
          'v1 ResourceQuota',
          'v1 LimitRange',
          'apps/v1 Deployment',
          'networking.k8s.io/v1 NetworkPolicy',
          'rbac.authorization.k8s.io/v1 Role',
          'rbac.authorization.k8s.io/v1 RoleBinding',
        ]),
      );
    },
  );
});

describe("the orchestrator's permissions", () => {
  /** What the Kubernetes backend calls (kube-launcher, kube-watch, worker-description), the
   *  list kube-doctor checks, and nothing more. */
  const INTENDED_RULES = [
    {
      apiGroups: ['batch'],
      resources: ['jobs'],
      verbs: ['create', 'get', 'list', 'watch', 'patch', 'delete'],
    },
    { apiGroups: [''], resources: ['pods'], verbs: ['list', 'watch', 'delete'] },
    { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
    {
      apiGroups: [''],
      resources: ['secrets'],
      verbs: ['create', 'list', 'update', 'delete'],
    },
    { apiGroups: [''], resources: ['events'], verbs: ['list'] },
  ];

  it('grant exactly the permissions forge doctor checks the backend needs', async () => {
    // kube-doctor.ts keeps the backend's list of [verb, group, resource, subresource?]; reading
    // it here makes a new call there fail this test until the Role grants it.
    const source = readFileSync(
      join(ROOT, 'src/adapters/sandbox/kubernetes/kube-doctor.ts'),
      'utf8',
    );
    const block = /const NEEDED[^=]*=\s*\[([\s\S]*?)\n\];/.exec(source)?.[1];
    expect(block, 'kube-doctor.ts no longer has a NEEDED list this test can read').toBeDefined();
    const needed = [...block!.matchAll(/\['(\w+)', '([\w.]*)', '(\w+)'(?:, '(\w+)')?\]/g)].map(
      ([, verb, group, resource, sub]) => `${verb} ${group}/${resource}${sub ? `/${sub}` : ''}`,
    );
    expect(needed.length).toBeGreaterThan(10);
    const granted = (only(await render(), 'Role').rules ?? []).flatMap((rule) =>
      (rule.apiGroups ?? []).flatMap((group) =>
        (rule.resources ?? []).flatMap((resource) =>
          rule.verbs.map((verb) => `${verb} ${group}/${resource}`),
        ),
      ),
    );
    expect(new Set(granted)).toEqual(new Set(needed));
  });

  it.each(Object.keys(VALUE_SETS))(
    'are one Role in the worker namespace, bound to its own account, nothing cluster-wide (%s values)',
    async (set) => {
      const objects = await render(VALUE_SETS[set]);
      expect(objects.filter((o) => /^Cluster/.test(o.kind))).toEqual([]);
      const role = only(objects, 'Role');
      expect(role.metadata?.namespace).toBe(WORKER_NS);
      expect(role.rules).toEqual(INTENDED_RULES);

      const binding = only(objects, 'RoleBinding');
      const account = podSpec(only(objects, 'Deployment')).serviceAccountName;
      expect(binding.metadata?.namespace).toBe(WORKER_NS);
      expect(binding.roleRef).toEqual({
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'Role',
        name: role.metadata?.name,
      });
      expect(binding.subjects).toEqual([
        { kind: 'ServiceAccount', name: account, namespace: RELEASE_NS },
      ]);
      const accounts = all(objects, 'ServiceAccount');
      expect(accounts.map((a) => `${a.metadata?.namespace}/${a.metadata?.name}`).sort()).toEqual(
        [`${RELEASE_NS}/${account}`, `${WORKER_NS}/forge-worker`].sort(),
      );
    },
  );

  it('gives workers an account with no API token', async () => {
    const objects = await render();
    const worker = all(objects, 'ServiceAccount').find((a) => a.metadata?.namespace === WORKER_NS);
    expect(worker?.automountServiceAccountToken).toBe(false);
    expect(rawConfig(objects).sandbox.service_account).toBe(worker?.metadata?.name);
  });
});

describe("the workers' NetworkPolicy", () => {
  const DNS_RULE = {
    to: [
      {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
        podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
      },
    ],
    ports: [
      { protocol: 'UDP', port: 53 },
      { protocol: 'TCP', port: 53 },
    ],
  };
  const FORGE_RULE = {
    to: [
      {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': RELEASE_NS } },
        podSelector: {
          matchLabels: {
            'app.kubernetes.io/name': 'forge',
            'app.kubernetes.io/instance': 'forge',
            'app.kubernetes.io/component': 'orchestrator',
          },
        },
      },
    ],
    ports: [{ protocol: 'TCP', port: 7700 }],
  };
  /** The labels Forge's Kubernetes backend puts on every worker pod (job-manifest.ts). */
  const WORKER_PODS = {
    matchLabels: {
      'app.kubernetes.io/managed-by': 'forge',
      'app.kubernetes.io/component': 'forge-worker',
    },
  };

  it('allows no ingress and egress only to DNS and Forge by default', async () => {
    const objects = await render();
    const policy = only(objects, 'NetworkPolicy');
    expect(policy.metadata?.namespace).toBe(WORKER_NS);
    expect(policy.spec).toEqual({
      podSelector: WORKER_PODS,
      policyTypes: ['Ingress', 'Egress'],
      ingress: [],
      egress: [DNS_RULE, FORGE_RULE],
    });
    // Forge's pods carry the labels the rule opens, and listen on the port it opens.
    const deployment = only(objects, 'Deployment');
    expect(deployment.spec?.template.metadata?.labels).toMatchObject(
      FORGE_RULE.to[0]!.podSelector.matchLabels,
    );
    expect(forgeContainer(deployment).ports).toEqual([
      { name: 'http', containerPort: 7700, protocol: 'TCP' },
    ]);
  });

  it('adds the model API by CIDR on its ports, and nothing else', async () => {
    const objects = await render([
      '--set-json',
      'networkPolicy.modelApi.cidrs=["160.79.104.0/23","2607:6bc0::/48"]',
    ]);
    expect(only(objects, 'NetworkPolicy').spec?.egress).toEqual([
      DNS_RULE,
      FORGE_RULE,
      {
        to: [{ ipBlock: { cidr: '160.79.104.0/23' } }, { ipBlock: { cidr: '2607:6bc0::/48' } }],
        ports: [{ protocol: 'TCP', port: 443 }],
      },
    ]);
  });

  it('adds an in-cluster egress proxy when one is named', async () => {
    const objects = await render([
      '--set-json',
      'networkPolicy.modelApi.proxy={"namespace":"egress","podLabels":{"app":"squid"},"port":3128}',
    ]);
    expect(only(objects, 'NetworkPolicy').spec?.egress).toEqual([
      DNS_RULE,
      FORGE_RULE,
      {
        to: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'egress' } },
            podSelector: { matchLabels: { app: 'squid' } },
          },
        ],
        ports: [{ protocol: 'TCP', port: 3128 }],
      },
    ]);
  });

  it.each([
    ['0.0.0.0/0', /wider than \/8/],
    ['10.0.0.0/8', /private, loopback or link-local/],
    ['172.20.0.0/16', /private/],
    ['192.168.1.0/24', /private/],
    ['169.254.169.254/32', /cloud metadata/],
    ['100.64.0.0/10', /private/],
    ['fd00::/8', /private/],
    ['::/0', /wider than \/8|private/],
    ['api.anthropic.com', /not a CIDR/],
  ])('refuses model API CIDR %s, which would open more than the model API', async (cidr, why) => {
    const message = await refusal(['--set-json', `networkPolicy.modelApi.cidrs=["${cidr}"]`]);
    expect(message).toMatch(why);
    expect(message).toMatch(/modelApi\.(proxy|cidrs)|list the model API/);
  });
});

describe('the worker namespace', () => {
  it('is created with the restricted Pod Security Standard, holding quota and limits', async () => {
    const objects = await render();
    const namespace = only(objects, 'Namespace');
    expect(namespace.metadata?.name).toBe(WORKER_NS);
    expect(namespace.metadata?.labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'restricted',
    });
    const quota = only(objects, 'ResourceQuota');
    expect(quota.metadata?.namespace).toBe(WORKER_NS);
    expect(quota.spec?.hard).toEqual({
      'count/jobs.batch': '20',
      pods: '20',
      'requests.cpu': '10',
      'requests.memory': '20Gi',
      'limits.cpu': '40',
      'limits.memory': '80Gi',
    });
    const limits = only(objects, 'LimitRange');
    expect(limits.metadata?.namespace).toBe(WORKER_NS);
    expect(limits.spec?.limits).toEqual([
      {
        type: 'Container',
        default: { cpu: '2', memory: '4Gi' },
        defaultRequest: { cpu: '500m', memory: '1Gi' },
        max: { cpu: '4', memory: '8Gi' },
      },
    ]);
  });

  it('can be the release namespace, which the chart then does not create', async () => {
    const objects = await render(['--set', 'workerNamespace.name=']);
    expect(all(objects, 'Namespace')).toEqual([]);
    for (const kind of [
      'Role',
      'RoleBinding',
      'NetworkPolicy',
      'ResourceQuota',
      'LimitRange',
    ] as const)
      expect(only(objects, kind).metadata?.namespace).toBe(RELEASE_NS);
    expect(rawConfig(objects).sandbox.namespace).toBe(RELEASE_NS);
  });

  it('is not created when it must exist already', async () => {
    const objects = await render(['--set', 'workerNamespace.create=false']);
    expect(all(objects, 'Namespace')).toEqual([]);
    expect(only(objects, 'Role').metadata?.namespace).toBe(WORKER_NS);
  });
});

describe("the orchestrator's pod", () => {
  it('runs non-root with a fixed uid, no privilege, read-only root and probes on /health', async () => {
    const deployment = only(await render(), 'Deployment');
    const pod = podSpec(deployment);
    expect(pod.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 10001,
      runAsGroup: 10001,
      fsGroup: 10001,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    const container = forgeContainer(deployment);
    expect(container.securityContext).toEqual({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    for (const probe of [container.startupProbe, container.readinessProbe, container.livenessProbe])
      expect(probe?.httpGet).toEqual({ path: '/health', port: 'http' });
    const tmp = container.volumeMounts?.find((m) => m.mountPath === '/tmp');
    expect(volume(deployment, tmp?.name).emptyDir).toBeDefined();
    expect(container.image).toBe('ghcr.io/forge-dev/forge:0.1.0');
  });

  it('is one replica on a PersistentVolumeClaim, replaced with Recreate, on SQLite', async () => {
    const objects = await render();
    const deployment = only(objects, 'Deployment');
    expect(deployment.spec?.replicas).toBe(1);
    expect(deployment.spec?.strategy).toEqual({ type: 'Recreate' });
    const claims = objects.filter((o) => o.kind === 'PersistentVolumeClaim');
    expect(claims).toHaveLength(1);
    expect(volume(deployment, 'data').persistentVolumeClaim).toEqual({
      claimName: claims[0]!.metadata.name,
    });
    expect(rawConfig(objects).sandbox.worker_url).toBe('http://forge.forge.svc.cluster.local:7700');
  });

  it('is N replicas rolling over an emptyDir each on NATS, workers dialing the pod IP', async () => {
    const objects = await render(VALUE_SETS.nats);
    const deployment = only(objects, 'Deployment');
    expect(deployment.spec?.replicas).toBe(3);
    expect(deployment.spec?.strategy?.type).toBe('RollingUpdate');
    expect(objects.filter((o) => o.kind === 'PersistentVolumeClaim')).toEqual([]);
    expect(volume(deployment, 'data').emptyDir).toEqual({ sizeLimit: '20Gi' });
    const config = loadConfig(podEnv(deployment), forgeYaml(objects));
    expect(config.store).toMatchObject({
      kind: 'nats',
      url: 'nats://nats.nats.svc.cluster.local:4222',
    });
    expect(config.sandbox).toMatchObject({ worker_url: 'http://10.1.2.3:7700' });
    expect(secretKeyRefs(deployment)).toContainEqual({ name: 'forge-nats', key: 'token' });
  });

  it('mounts a NATS credentials file from a Secret when one is named', async () => {
    const objects = await render([
      ...VALUE_SETS.nats!,
      '--set',
      'store.nats.tokenSecretRef.name=,store.nats.credsSecretRef.name=nats-creds,store.nats.credsSecretRef.key=forge.creds',
    ]);
    const deployment = only(objects, 'Deployment');
    const creds = podSpec(deployment).volumes?.find((v) => v.secret);
    expect(creds?.secret).toEqual({
      secretName: 'nats-creds',
      items: [{ key: 'forge.creds', path: 'nats.creds' }],
    });
    const mount = forgeContainer(deployment).volumeMounts?.find((m) => m.name === creds?.name);
    const config = loadConfig(podEnv(deployment), forgeYaml(objects));
    expect(config.store).toMatchObject({ creds_file: `${mount?.mountPath}/nats.creds` });
    expect(rawConfig(objects).store.token).toBeUndefined();
  });
});

describe('forge.yaml in the ConfigMap', () => {
  it.each(Object.keys(VALUE_SETS))(
    "passes Forge's own validation with the pod's environment (%s values)",
    async (set) => {
      const objects = await render(VALUE_SETS[set]);
      const deployment = only(objects, 'Deployment');
      const env = podEnv(deployment);
      const config = loadConfig(env, forgeYaml(objects));
      expect(config.sandbox.kind).toBe('kubernetes');
      expect(config.server.host).toBe('0.0.0.0');
      expect(config.server.tokens.length).toBeGreaterThan(0);
      expect(config.data_dir).toBe('/data');
      // The file the pod reads is the ConfigMap's.
      const mount = forgeContainer(deployment).volumeMounts?.find((m) => m.name === 'config');
      expect(volume(deployment, 'config').configMap?.name).toBe(
        only(objects, 'ConfigMap').metadata?.name,
      );
      expect(env.FORGE_CONFIG).toBe(`${mount?.mountPath}/forge.yaml`);
    },
  );

  it('renders the sandbox keys the Kubernetes backend reads', async () => {
    const objects = await render(VALUE_SETS.example);
    const config = loadConfig(podEnv(only(objects, 'Deployment')), forgeYaml(objects));
    expect(config.sandbox).toEqual({
      kind: 'kubernetes',
      isolation: 'none',
      allowed_domains: [],
      namespace: WORKER_NS,
      image: 'registry.example.com/forge/forge-worker:0.1.0',
      worker_url: 'http://forge.forge.svc.cluster.local:7700',
      service_account: 'forge-worker',
      image_pull_secrets: ['registry-example'],
      node_selector: { 'forge.dev/agents': 'true' },
      tolerations: [{ key: 'forge.dev/agents', operator: 'Exists', effect: 'NoSchedule' }],
      runtime_class: 'gvisor',
      resources: { requests: { cpu: '1', memory: '2Gi' }, limits: { cpu: '2', memory: '4Gi' } },
      workspace_size: '20Gi',
      start_timeout: 600_000,
      secrets: { ANTHROPIC_API_KEY: { secret: 'forge-model-keys', key: 'anthropic' } },
    });
  });

  it.each(Object.keys(VALUE_SETS))(
    'holds secrets only as ${NAME}, each filled from a Secret (%s values)',
    async (set) => {
      const objects = await render(VALUE_SETS[set]);
      const deployment = only(objects, 'Deployment');
      const text = forgeYaml(objects);
      // No value the pod gets from a Secret is in the ConfigMap.
      for (const [name, value] of Object.entries(podEnv(deployment)))
        if (value.startsWith('stand-in-for-')) expect(text, name).not.toContain(value);
      // Every secret field is a reference to a variable the pod fills from a Secret.
      const raw = rawConfig(objects);
      const secretFields = [
        ...raw.server.tokens.map((t) => t.token),
        ...Object.values(raw.forges ?? {}).map((f) => f.token),
        ...Object.values(raw.intake ?? {}).map((i) => i.webhook_secret),
        raw.store.token,
      ].filter((v) => v !== undefined);
      expect(secretFields.length).toBeGreaterThan(0);
      const fromSecrets = new Set(
        envOf(deployment)
          .filter((e) => e.valueFrom?.secretKeyRef)
          .map((e) => e.name),
      );
      for (const field of secretFields) {
        const name = /^\$\{([A-Z0-9_]+)\}$/.exec(field)?.[1];
        expect(name, `${field} is not a \${NAME} reference`).toBeDefined();
        expect(fromSecrets.has(name!), `${name} is not set from a Secret`).toBe(true);
      }
    },
  );
});

/** A Kubernetes quantity as a number (cores, bytes): enough for the values compared here. */
function quantity(value: string | number | undefined): number {
  const match = /^(\d+(?:\.\d+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(String(value));
  if (!match) throw new Error(`not a quantity this test reads: ${value}`);
  const scale: Record<string, number> = {
    '': 1,
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
  };
  return Number(match[1]) * scale[match[2] ?? '']!;
}

/** Pod Security Standard "restricted", the parts a Job from Forge could break. */
function restrictedViolations(pod: V1PodSpec): string[] {
  const problems: string[] = [];
  if (pod.hostNetwork || pod.hostPID || pod.hostIPC) problems.push('host namespaces');
  if (pod.securityContext?.runAsNonRoot !== true) problems.push('pod runAsNonRoot');
  if (pod.securityContext?.runAsUser === 0) problems.push('pod runs as uid 0');
  if (pod.securityContext?.seccompProfile?.type !== 'RuntimeDefault')
    problems.push('pod seccompProfile');
  for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
    const sc = c.securityContext;
    if (sc?.privileged) problems.push(`${c.name} privileged`);
    if (sc?.allowPrivilegeEscalation !== false) problems.push(`${c.name} allowPrivilegeEscalation`);
    if (!sc?.capabilities?.drop?.includes('ALL'))
      problems.push(`${c.name} capabilities not dropped`);
    if ((sc?.capabilities?.add ?? []).some((cap) => cap !== 'NET_BIND_SERVICE'))
      problems.push(`${c.name} adds capabilities`);
    if (sc?.runAsUser === 0) problems.push(`${c.name} runs as uid 0`);
    if (c.ports?.some((p) => p.hostPort)) problems.push(`${c.name} hostPort`);
  }
  for (const v of pod.volumes ?? [])
    if (!(
      v.emptyDir ||
      v.configMap ||
      v.secret ||
      v.projected ||
      v.downwardAPI ||
      v.persistentVolumeClaim
    ))
      problems.push(`volume ${v.name} of a kind restricted refuses`);
  return problems;
}

describe('the worker Jobs Forge makes, in the namespace the chart prepares', () => {
  it.each(Object.keys(VALUE_SETS))(
    'are selected by the NetworkPolicy, fit the LimitRange and quota, and meet restricted (%s values)',
    async (set) => {
      const objects = await render(VALUE_SETS[set]);
      const config = loadConfig(podEnv(only(objects, 'Deployment')), forgeYaml(objects));
      if (config.sandbox.kind !== 'kubernetes') throw new Error('the chart must render kubernetes');
      const job = jobManifest(config.sandbox, {
        labels: { jobId: '01JD8X3Y4Z5A6B7C8D9E0F1G2H', attempt: 1 },
        url: config.sandbox.worker_url,
        token: 'stand-in-attempt-token-0123456789',
        maxDurationMs: 3_600_000,
      });
      expect(validateKubeObject(job)).toEqual([]);
      const template = job.spec!.template;
      const pod = template.spec!;
      expect(job.metadata?.namespace).toBe(only(objects, 'Role').metadata?.namespace);

      const policy = only(objects, 'NetworkPolicy').spec!;
      expect(template.metadata?.labels).toMatchObject(policy.podSelector!.matchLabels!);
      // ...and the policy does not also catch Forge itself (it would cut it off from the API).
      const forgeLabels = only(objects, 'Deployment').spec!.template.metadata!.labels!;
      expect(forgeLabels).not.toMatchObject(policy.podSelector!.matchLabels!);

      const account = all(objects, 'ServiceAccount').find(
        (a) => a.metadata?.name === pod.serviceAccountName,
      );
      expect(account?.metadata?.namespace).toBe(job.metadata?.namespace);
      expect(account?.automountServiceAccountToken).toBe(false);

      const max = only(objects, 'LimitRange').spec!.limits[0]!.max!;
      const hard = only(objects, 'ResourceQuota').spec!.hard!;
      for (const c of pod.containers) {
        for (const r of ['cpu', 'memory']) {
          const limit = quantity(c.resources?.limits?.[r]);
          const request = quantity(c.resources?.requests?.[r]);
          expect(limit, `${c.name} ${r} limit`).toBeLessThanOrEqual(quantity(max[r]));
          expect(request, `${c.name} ${r} request`).toBeLessThanOrEqual(limit);
          expect(limit, `${c.name} ${r} limit`).toBeLessThanOrEqual(quantity(hard[`limits.${r}`]));
          expect(request).toBeLessThanOrEqual(quantity(hard[`requests.${r}`]));
        }
      }
      expect(restrictedViolations(pod)).toEqual([]);
    },
  );
});

describe('values the chart refuses', () => {
  it.each([
    [
      'SQLite with several replicas',
      ['--set', 'replicaCount=2'],
      /SQLite serves one replica per data dir; set store\.kind: nats/,
    ],
    ['NATS without an address', ['--set', 'store.kind=nats'], /store\.nats\.url is empty/],
    ['an unknown store', ['--set', 'store.kind=redis'], /use sqlite .* or nats/],
    [
      'no API token',
      ['--set-json', 'server.tokens=[]'],
      /refuses to start without an API token; add one/,
    ],
    [
      'a literal API token',
      ['--set-json', 'server.tokens=[{"name":"me","token":"0123456789abcdef0123"}]'],
      /literal token.*secretRef/,
    ],
    [
      'a literal forge token in config',
      [
        '--set-json',
        'config.forges={"home":{"kind":"forgejo","url":"https://git.example.com","token":"abc123abc123"}}',
      ],
      /config\.forges\.home\.token holds a literal secret.*secretEnv/,
    ],
    [
      'a literal key in an agent env',
      [
        '--set-json',
        'config.agents={"c":{"kind":"claude-code","env":{"ANTHROPIC_API_KEY":"sk-ant-123456"}}}',
      ],
      /config\.agents\.c\.env\.ANTHROPIC_API_KEY holds a literal secret/,
    ],
    [
      'a password in a URL',
      ['--set-json', 'config.repos={"app":{"url":"https://me:hunter22@git.example.com/a.git"}}'],
      /config\.repos\.app\.url has a password in its URL/,
    ],
    [
      'a key the chart owns set through config',
      ['--set-json', 'config.sandbox={"kind":"local"}'],
      /config\.sandbox is set by the chart; use the chart's own values/,
    ],
    [
      'a secretEnv value instead of a reference',
      ['--set', 'secretEnv.FORGEJO_TOKEN=abc'],
      /secretEnv\.FORGEJO_TOKEN must be \{secret: .*, key: .*\}/,
    ],
    [
      'two API tokens whose names share a variable',
      [
        '--set-json',
        'server.tokens=[{"name":"ci-bot","secretRef":{"name":"t","key":"a"}},{"name":"ci_bot","secretRef":{"name":"t","key":"b"}}]',
      ],
      /two tokens map to the variable FORGE_TOKEN_CI_BOT .*rename one/,
    ],
    [
      'a secretEnv name the chart sets itself',
      ['--set-json', 'secretEnv={"FORGE_DATA_DIR":{"secret":"s","key":"k"}}'],
      /secretEnv\.FORGE_DATA_DIR: the chart sets this variable itself/,
    ],
  ])('refuses %s, saying what to do', async (_what, args, message) => {
    expect(await refusal(args)).toMatch(message);
  });

  it.each([
    [
      'a worker limit above the LimitRange maximum',
      ['--set', 'workers.resources.limits.cpu=8'],
      /workers\.resources\.limits\.cpu \(8\) is above limitRange\.max\.cpu \(4\): the namespace would refuse every worker pod/,
    ],
    [
      'a worker request above the whole quota',
      ['--set', 'workers.resources.requests.memory=30Gi,limitRange.max.memory=64Gi'],
      /workers\.resources\.requests\.memory \(30Gi\) is above quota\.requests\.memory \(20Gi\)/,
    ],
    [
      'a quantity the chart cannot read',
      ['--set', 'workers.resources.limits.cpu=lots'],
      /"lots" is not a Kubernetes quantity this chart reads; write e\.g\. 500m/,
    ],
  ])('refuses %s, which no worker pod could pass', async (_what, args, message) => {
    expect(await refusal(args)).toMatch(message);
  });

  it('compares worker memory with the LimitRange as Kubernetes reads quantities', async () => {
    const memory = fc
      .tuple(
        fc.integer({ min: 1, max: 4096 }),
        fc.constantFrom('', 'k', 'M', 'G', 'Ki', 'Mi', 'Gi'),
      )
      .map(([n, unit]) => `${n}${unit}`);
    await fc.assert(
      fc.asyncProperty(memory, memory, async (limit, max) => {
        const result = await helm([
          'template',
          'forge',
          CHART,
          '--set',
          `workers.resources.requests.memory=1,workers.resources.limits.memory=${limit}`,
          '--set',
          `limitRange.max.memory=${max},quota.enabled=false`,
        ]);
        expect(result.code === 0, `${limit} against ${max}: ${result.stderr}`).toBe(
          quantity(limit) <= quantity(max),
        );
      }),
      {
        numRuns: 25,
        examples: [
          ['1Gi', '1024Mi'],
          ['1G', '1000M'],
          ['1025Mi', '1Gi'],
        ],
      },
    );
  });

  it('accepts secrets written as ${NAME} references, and codex env_key (a name, not a secret)', async () => {
    const objects = await render([
      '--set-json',
      'config.agents={"x":{"kind":"codex","env":{"OPENAI_API_KEY":"${OPENAI_API_KEY}"},"provider":{"base_url":"https://proxy.example.com/v1","env_key":"OPENAI_API_KEY"}}}',
      '--set-json',
      'secretEnv={"OPENAI_API_KEY":{"secret":"forge-secrets","key":"openai"}}',
    ]);
    const deployment = only(objects, 'Deployment');
    const config = loadConfig(podEnv(deployment), forgeYaml(objects));
    expect(config.agents.x?.kind).toBe('codex');
    expect(secretKeyRefs(deployment)).toContainEqual({ name: 'forge-secrets', key: 'openai' });
  });
});

describe('the images', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    version: string;
    devDependencies: Record<string, string>;
  };
  const dockerfile = (name: string) => readFileSync(join(ROOT, 'deploy/docker', name), 'utf8');
  /** Instructions, with continuation lines joined. */
  const instructions = (text: string) =>
    text
      .replace(/\\\n/g, ' ')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#'));
  const lastUser = (text: string) =>
    instructions(text)
      .filter((line) => /^USER\s/i.test(line))
      .at(-1)
      ?.split(/\s+/)[1];

  it.each(['worker.Dockerfile', 'forge.Dockerfile'])(
    '%s runs on the pinned Node as uid 10001',
    (name) => {
      const text = dockerfile(name);
      const froms = instructions(text).filter((line) => /^FROM\s/i.test(line));
      expect(froms.length).toBeGreaterThan(0);
      for (const from of froms)
        expect(from).toMatch(new RegExp(`^FROM node:${pkg.devDependencies.node}-`));
      expect(lastUser(text)).toBe('10001:10001');
    },
  );

  it('worker.Dockerfile installs the agent CLIs at the versions package.json pins', () => {
    const text = dockerfile('worker.Dockerfile');
    for (const cli of ['@anthropic-ai/claude-code', '@openai/codex']) {
      const pinned = pkg.devDependencies[cli];
      expect(pinned, `${cli} in devDependencies`).toMatch(/^\d+\.\d+\.\d+$/);
      expect(text).toContain(`${cli}@${pinned} `);
      expect(text.match(new RegExp(`${cli.replace('/', '\\/')}@`, 'g'))).toHaveLength(1);
    }
    expect(instructions(text)).toContain('RUN npm ci --omit=dev && npm cache clean --force');
    expect(instructions(text).at(-1)).toBe('ENTRYPOINT ["forge", "worker"]');
  });

  it('worker.Dockerfile builds forge-spawn and puts it where the worker looks for it', () => {
    const lines = instructions(dockerfile('worker.Dockerfile'));
    expect(lines).toContain('RUN sh native/build.sh && test -x native/build/forge-spawn');
    const copy = lines.find((line) => line.startsWith('COPY --from=spawn-helper '));
    const [, , , to] = copy?.split(/\s+/) ?? [];
    // WORKDIR /opt/forge: the path findSpawnHelper looks at, relative to the code's root.
    expect(join('/opt/forge', to ?? '')).toBe(
      SPAWN_HELPER_PATH.replace(resolve(import.meta.dirname, '../..'), '/opt/forge'),
    );
  });

  it('forge.Dockerfile is multi-stage and serves', () => {
    const lines = instructions(dockerfile('forge.Dockerfile'));
    expect(lines.filter((line) => line.startsWith('FROM ')).length).toBeGreaterThan(1);
    expect(lines).toContain('ENTRYPOINT ["forge"]');
    expect(lines.at(-1)).toBe('CMD ["serve"]');
  });

  it("the chart's images and uid are the ones built here", async () => {
    const chart = parse(readFileSync(join(ROOT, CHART, 'Chart.yaml'), 'utf8')) as {
      appVersion: string;
    };
    expect(chart.appVersion).toBe(pkg.version);
    const objects = await render();
    const security = podSpec(only(objects, 'Deployment')).securityContext;
    expect(`${security?.runAsUser}:${security?.runAsGroup}`).toBe(
      lastUser(dockerfile('forge.Dockerfile')),
    );
    expect(rawConfig(objects).sandbox.image).toBe(`ghcr.io/forge-dev/forge-worker:${pkg.version}`);
  });
});

describe('agent-sandbox warm pools', () => {
  const CRDS = '../shared/reference/agent-sandbox';
  interface PodTemplate {
    metadata: { labels: Record<string, string> };
    spec: V1PodSpec;
  }

  it('renders a SandboxTemplate and SandboxWarmPool the reference CRDs accept, pods locked down like the Jobs', async () => {
    const objects = await render([
      '--set',
      'agentSandbox.enabled=true',
      '--set',
      'agentSandbox.warmPoolSize=3',
    ]);
    const template = objects.find((o) => o.kind === 'SandboxTemplate')!;
    const pool = objects.find((o) => o.kind === 'SandboxWarmPool')!;
    expect(
      validateCustomResource(
        loadCrd(`${CRDS}/extensions.agents.x-k8s.io_sandboxtemplates.yaml`, 'v1beta1'),
        template,
      ),
    ).toEqual([]);
    expect(
      validateCustomResource(
        loadCrd(`${CRDS}/extensions.agents.x-k8s.io_sandboxwarmpools.yaml`, 'v1beta1'),
        pool,
      ),
    ).toEqual([]);
    const poolSpec = (
      pool as unknown as { spec: { replicas: number; sandboxTemplateRef: { name: string } } }
    ).spec;
    expect(poolSpec).toEqual({
      replicas: 3,
      sandboxTemplateRef: { name: template.metadata?.name },
    });

    const pod = (template as unknown as { spec: { podTemplate: PodTemplate } }).spec.podTemplate;
    expect(validateAgainst('io.k8s.api.core.v1.PodSpec', pod.spec)).toEqual([]);
    expect(pod.spec).toMatchObject({
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 10001,
        seccompProfile: { type: 'RuntimeDefault' },
      },
    });
    const container = pod.spec.containers[0]!;
    expect(container.command).toEqual(['forge', 'worker']);
    expect(container.args?.[0]).toBe('--warm');
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
    });
    // Secrets only by reference: the pool token and the model key.
    const refs = (container.env ?? []).filter((e) => e.valueFrom?.secretKeyRef);
    expect(refs.map((e) => [e.name, e.valueFrom!.secretKeyRef!.name])).toEqual([
      ['FORGE_POOL_TOKEN', 'forge-warm-pool'],
      ['ANTHROPIC_API_KEY', 'forge-model-keys'],
    ]);
    // The worker NetworkPolicy selects these pods too.
    const selector = only(objects, 'NetworkPolicy').spec?.podSelector?.matchLabels ?? {};
    expect(pod.metadata.labels).toMatchObject(selector);

    // Forge is told to claim from this pool, and may.
    const deployment = only(objects, 'Deployment');
    const config = loadConfig(podEnv(deployment), forgeYaml(objects));
    expect(config.sandbox).toMatchObject({
      kind: 'agent-sandbox',
      warm_pool: pool.metadata?.name,
      template: template.metadata?.name,
      pool_secret: 'forge-warm-pool',
      inherit_env: ['ANTHROPIC_API_KEY'],
    });
    const rules = only(objects, 'Role').rules ?? [];
    expect(rules).toContainEqual({
      apiGroups: ['extensions.agents.x-k8s.io'],
      resources: ['sandboxclaims'],
      verbs: ['create', 'get', 'list', 'watch', 'delete'],
    });
    expect(rules).toContainEqual({ apiGroups: [''], resources: ['pods'], verbs: ['get'] });
  });
});
