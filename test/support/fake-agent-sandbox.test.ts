import { ApiException, CustomObjectsApi, KubeConfig, Watch } from '@kubernetes/client-node';
import { dirname } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { loadCrd, validateCustomResource } from './crd-schema.ts';
import {
  ASSIGNED_SANDBOX_ANNOTATION,
  CLAIM_UID_LABEL,
  LAUNCH_TYPE_LABEL,
  POD_NAME_ANNOTATION,
  SANDBOX_CLAIMS,
  SANDBOX_TEMPLATES,
  SANDBOX_WARM_POOLS,
  SANDBOXES,
  startFakeAgentSandbox,
  type AgentSandboxDefects,
  type Condition,
  type FakeAgentSandbox,
  type SandboxClaim,
} from './fake-kube/agent-sandbox/index.ts';
import type { Pod } from './fake-kube/index.ts';

const NS = 'forge';
const TOKEN = 'fake-token';
const IMAGE = 'forge-worker:1';
const PATH = `${dirname(process.execPath)}:${process.env.PATH ?? ''}`;
const EXT = { group: 'extensions.agents.x-k8s.io', version: 'v1beta1', namespace: NS };
// Stands in for `forge worker`: announces itself, then waits to be handed an attempt.
const WORKER = "console.log('waiting for an assignment'); setInterval(() => {}, 1 << 30)";

let fake: FakeAgentSandbox | undefined;
afterEach(async () => {
  if (fake) expect(fake.invalid).toEqual([]);
  // What the fake controller writes must fit the CRDs as well as what clients send.
  const f = fake;
  for (const [type, objs] of f
    ? ([
        [SANDBOXES, f.agentSandbox.sandboxes()],
        [SANDBOX_CLAIMS, f.agentSandbox.claims()],
        [SANDBOX_WARM_POOLS, f.store.list(SANDBOX_WARM_POOLS)],
      ] as const)
    : []) {
    for (const o of objs) expect(type.validate(o), `${o.kind} ${o.metadata.name}`).toEqual([]);
  }
  await fake?.close();
  fake = undefined;
});

async function start(defects: Partial<AgentSandboxDefects> = {}, images = true) {
  fake = await startFakeAgentSandbox({
    images: images ? { [IMAGE]: { env: { PATH } } } : {},
    token: TOKEN,
    terminationGracePeriodSeconds: 1,
    defects,
  });
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server: fake.url, skipTLSVerify: true }],
    users: [{ name: 'forge', token: TOKEN }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'forge', namespace: NS }],
    currentContext: 'fake',
  });
  const custom = kc.makeApiClient(CustomObjectsApi);
  const f = fake;
  const create = (plural: string, body: object) =>
    custom.createNamespacedCustomObject({ ...EXT, plural, body }) as Promise<{
      metadata: { name: string; uid: string };
    }>;
  return {
    fake: f,
    kc,
    custom,
    template: (name = 'worker', container: object = {}) =>
      create('sandboxtemplates', {
        apiVersion: 'extensions.agents.x-k8s.io/v1beta1',
        kind: 'SandboxTemplate',
        metadata: { name },
        spec: {
          podTemplate: {
            metadata: { labels: { app: 'forge-worker' } },
            spec: {
              containers: [
                { name: 'worker', image: IMAGE, command: ['node', '-e', WORKER], ...container },
              ],
            },
          },
        },
      }),
    pool: (replicas: number, template = 'worker', name = 'workers') =>
      create('sandboxwarmpools', {
        apiVersion: 'extensions.agents.x-k8s.io/v1beta1',
        kind: 'SandboxWarmPool',
        metadata: { name },
        spec: { replicas, sandboxTemplateRef: { name: template } },
      }),
    claim: (name: string, lifecycle: object = { shutdownPolicy: 'Delete' }, pool = 'workers') =>
      create('sandboxclaims', {
        apiVersion: 'extensions.agents.x-k8s.io/v1beta1',
        kind: 'SandboxClaim',
        metadata: { name },
        spec: { warmPoolRef: { name: pool }, lifecycle },
      }),
    readyWarmPods: (n: number) =>
      f.agentSandbox.waitFor(() => {
        const pods = f.agentSandbox.warmPods(NS).filter(podReady);
        return pods.length === n && pods;
      }),
  };
}

const podReady = (p: Pod | undefined): boolean =>
  p?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
const ready = (c: SandboxClaim | undefined): Condition | undefined =>
  c?.status?.conditions?.find((x) => x.type === 'Ready');
const claimOf = (f: FakeAgentSandbox, name: string) =>
  f.agentSandbox.claims(NS).find((c) => c.metadata.name === name);
const readyClaim = (f: FakeAgentSandbox, name: string) =>
  f.agentSandbox.waitFor(() => {
    const c = claimOf(f, name);
    return ready(c)?.status === 'True' && c;
  });
const podNamed = (f: FakeAgentSandbox, name: string) =>
  f.pods(NS).find((p) => p.metadata.name === name);

/** Ready statuses of one claim as a real client's Watch sees them, consecutive repeats dropped. */
async function watchReady(kc: KubeConfig, claim: string) {
  const seen: string[] = [];
  const controller = await new Watch(kc).watch(
    `/apis/extensions.agents.x-k8s.io/v1beta1/namespaces/${NS}/sandboxclaims`,
    {},
    (_type, obj: SandboxClaim) => {
      const status = obj.metadata.name === claim ? ready(obj)?.status : undefined;
      if (status && seen.at(-1) !== status) seen.push(status);
    },
    () => {},
  );
  return { seen, stop: () => controller.abort() };
}

async function apiError(p: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ApiException) {
      const body = (typeof err.body === 'string' ? JSON.parse(err.body) : err.body) as {
        message: string;
      };
      return { code: err.code, message: body.message };
    }
    throw err;
  }
  throw new Error('expected the call to fail');
}

describe('fake agent-sandbox: warm pools and claims', () => {
  it('keeps a pool of 2 warm pods running; a claim adopts one, becomes Ready and the pool refills', async () => {
    const { fake, kc, template, pool, claim, readyWarmPods } = await start();
    await template();
    await pool(2);
    const warm = await readyWarmPods(2);
    for (const p of warm) {
      await fake.waitFor(() =>
        fake.podOutput(p.metadata.name).includes('waiting for an assignment'),
      );
    }
    const watch = await watchReady(kc, 'attempt-1');

    const made = await claim('attempt-1');
    const bound = await readyClaim(fake, 'attempt-1');
    const name = bound.status?.sandbox?.name ?? '';
    expect(warm.map((p) => p.metadata.name)).toContain(name);
    expect(ready(bound)).toMatchObject({ reason: 'DependenciesReady' });
    const sandbox = fake.agentSandbox.sandboxes(NS).find((s) => s.metadata.name === name);
    expect(sandbox?.metadata.annotations?.[POD_NAME_ANNOTATION]).toBe(name);
    expect(bound.metadata.annotations?.[ASSIGNED_SANDBOX_ANNOTATION]).toBe(name);
    expect(sandbox?.metadata.labels?.[LAUNCH_TYPE_LABEL]).toBe('warm');
    expect(sandbox?.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'SandboxClaim', uid: made.metadata.uid, controller: true }),
    ]);
    await fake.waitFor(
      () => podNamed(fake, name)?.metadata.labels?.[CLAIM_UID_LABEL] === made.metadata.uid,
    );
    // The adopted pod is the same process that was warm: its output goes on.
    expect(fake.podOutput(name)).toContain('waiting for an assignment');

    const refilled = await readyWarmPods(2);
    expect(refilled.map((p) => p.metadata.name)).not.toContain(name);
    await fake.waitFor(() => watch.seen.includes('True'));
    watch.stop();
  });

  it('gives a claim a cold sandbox when the pool is exhausted or has zero replicas', async () => {
    const { fake, custom, template, pool, claim, readyWarmPods } = await start();
    await template();
    await pool(2);
    await readyWarmPods(2);
    // Refills cannot start, so the third claim finds no Ready warm sandbox.
    fake.setSchedulable(false);
    await claim('a');
    await claim('b');
    await claim('c');
    const cold = await fake.agentSandbox.waitFor(() =>
      fake.agentSandbox.sandboxes(NS).find((s) => s.metadata.name === 'c'),
    );
    expect(cold.metadata.labels?.[LAUNCH_TYPE_LABEL]).toBe('cold');
    expect(cold.spec.podTemplate.metadata?.labels?.[CLAIM_UID_LABEL]).toBe(
      claimOf(fake, 'c')?.metadata.uid,
    );
    expect(ready(claimOf(fake, 'c'))).toMatchObject({ status: 'False' });
    fake.setSchedulable(true);
    const c = await readyClaim(fake, 'c');
    expect(c.status?.sandbox?.name).toBe('c');
    expect(podReady(podNamed(fake, 'c'))).toBe(true);
    expect((await readyClaim(fake, 'a')).status?.sandbox?.name).not.toBe('a');

    await custom.patchNamespacedCustomObject({
      ...EXT,
      plural: 'sandboxwarmpools',
      name: 'workers',
      body: [{ op: 'replace', path: '/spec/replicas', value: 0 }],
    });
    await fake.agentSandbox.waitFor(() => fake.agentSandbox.warmPods(NS).length === 0);
    await claim('d');
    expect((await readyClaim(fake, 'd')).status?.sandbox?.name).toBe('d');
  });

  it('reports WarmPoolNotFound and TemplateNotFound as the real controller does', async () => {
    const { fake, pool, claim } = await start();
    await claim('lost', {}, 'nowhere');
    const lost = await fake.agentSandbox.waitFor(() => ready(claimOf(fake, 'lost')));
    expect(lost).toMatchObject({
      status: 'False',
      reason: 'WarmPoolNotFound',
      message: 'SandboxWarmPool "nowhere" not found',
    });
    await pool(1, 'missing-template', 'orphans');
    await claim('untemplated', {}, 'orphans');
    const untemplated = await fake.agentSandbox.waitFor(() => ready(claimOf(fake, 'untemplated')));
    expect(untemplated).toMatchObject({ status: 'False', reason: 'TemplateNotFound' });
    expect(fake.agentSandbox.sandboxes()).toEqual([]);
    // The CRD's default, filled in by the apiserver.
    expect(claimOf(fake, 'lost')?.spec.lifecycle).toEqual({ shutdownPolicy: 'Retain' });
  });

  it('follows the pod: when the adopted pod dies, the Sandbox and the claim turn Ready False', async () => {
    const { fake, template, pool, claim, readyWarmPods } = await start();
    await template();
    await pool(1);
    await readyWarmPods(1);
    await claim('doomed');
    const name = (await readyClaim(fake, 'doomed')).status?.sandbox?.name ?? '';
    fake.oomKill(name);
    const lost = await fake.agentSandbox.waitFor(() => {
      const r = ready(claimOf(fake, 'doomed'));
      return r?.status === 'False' && r;
    });
    expect(lost).toMatchObject({ reason: 'PodFailed', message: 'Pod failed' });
    const sandbox = fake.agentSandbox.sandboxes(NS).find((s) => s.metadata.name === name);
    expect(sandbox?.status?.conditions).toContainEqual(
      expect.objectContaining({ type: 'Ready', status: 'False', reason: 'PodFailed' }),
    );
    expect(claimOf(fake, 'doomed')?.status?.sandbox?.name).toBe(name);
  });

  it('reports a pod the apiserver would refuse as ReconcilerError on the Sandbox and the claim', async () => {
    const { fake, template, pool, claim } = await start();
    await template('broken', { volumeMounts: [{ name: 'ws', mountPath: '/workspace' }] });
    await pool(0, 'broken', 'cold-only');
    await claim('x', {}, 'cold-only');
    const refused = await fake.agentSandbox.waitFor(() => {
      const r = ready(claimOf(fake, 'x'));
      return r?.reason === 'ReconcilerError' && r;
    });
    expect(refused.status).toBe('False');
    expect(refused.message).toContain('volumeMounts[0].name: Not found: "ws"');
    expect(podNamed(fake, 'x')).toBeUndefined();
  });

  it('runs a Sandbox created directly, and will not take it over for a claim of the same name', async () => {
    const { fake, custom, template, pool, claim } = await start();
    await custom.createNamespacedCustomObject({
      group: 'agents.x-k8s.io',
      version: 'v1beta1',
      namespace: NS,
      plural: 'sandboxes',
      body: {
        apiVersion: 'agents.x-k8s.io/v1beta1',
        kind: 'Sandbox',
        metadata: { name: 'taken' },
        spec: {
          podTemplate: {
            spec: { containers: [{ name: 'w', image: IMAGE, command: ['node', '-e', WORKER] }] },
          },
        },
      },
    });
    await fake.waitFor(() => podReady(podNamed(fake, 'taken')));
    await template();
    await pool(0);
    await claim('taken');
    const refused = await fake.agentSandbox.waitFor(() => ready(claimOf(fake, 'taken')));
    expect(refused).toMatchObject({ status: 'False', reason: 'ReconcilerError' });
    expect(refused.message).toContain('sandbox "taken" already exists');
    const sandbox = fake.agentSandbox.sandboxes(NS).find((s) => s.metadata.name === 'taken');
    expect(sandbox?.metadata.ownerReferences).toBeUndefined();
    expect(sandbox?.status?.conditions).toContainEqual(
      expect.objectContaining({ type: 'Ready', status: 'True', reason: 'DependenciesReady' }),
    );
  });

  it('deletes the sandbox and its pod with a Delete claim, on DELETE and when shutdownTime passes', async () => {
    const { fake, custom, template, pool, claim, readyWarmPods } = await start();
    await template();
    await pool(1);
    await readyWarmPods(1);
    await claim('done');
    const name = (await readyClaim(fake, 'done')).status?.sandbox?.name ?? '';
    await custom.deleteNamespacedCustomObject({ ...EXT, plural: 'sandboxclaims', name: 'done' });
    await fake.agentSandbox.waitFor(
      () =>
        !fake.agentSandbox.sandboxes(NS).some((s) => s.metadata.name === name) &&
        !podNamed(fake, name),
    );

    await readyWarmPods(1);
    // The claim may be deleted before a loaded test sees it Ready; the sandbox it took carries its
    // uid from the moment it is bound, so the test follows that instead.
    const soon = new Date(Date.now() + 3000).toISOString().replace(/\.\d+Z$/, 'Z');
    const timedClaim = await claim('timed', { shutdownPolicy: 'Delete', shutdownTime: soon });
    const bound = await fake.agentSandbox.waitFor(() =>
      fake.agentSandbox
        .sandboxes(NS)
        .find((s) => s.metadata.labels?.[CLAIM_UID_LABEL] === timedClaim.metadata.uid),
    );
    const timed = bound.metadata.name;
    await fake.agentSandbox.waitFor(
      () =>
        !claimOf(fake, 'timed') &&
        !fake.agentSandbox.sandboxes(NS).some((s) => s.metadata.name === timed) &&
        !podNamed(fake, timed),
    );
  });

  it('refuses objects that do not fit the CRD with 422 and fills in schema defaults', async () => {
    const { fake, custom, template, pool } = await start();
    const unknown = await apiError(
      custom.createNamespacedCustomObject({
        ...EXT,
        plural: 'sandboxclaims',
        body: {
          apiVersion: 'extensions.agents.x-k8s.io/v1beta1',
          kind: 'SandboxClaim',
          metadata: { name: 'x' },
          spec: { warmPoolRef: { name: 'workers' }, env2: [] },
        },
      }),
    );
    expect(unknown.code).toBe(422);
    expect(unknown.message).toContain('spec.env2: unknown field "env2"');
    const missing = await apiError(
      custom.createNamespacedCustomObject({
        ...EXT,
        plural: 'sandboxclaims',
        body: {
          apiVersion: 'extensions.agents.x-k8s.io/v1beta1',
          kind: 'SandboxClaim',
          metadata: { name: 'y' },
          spec: { lifecycle: { shutdownPolicy: 'Later' } },
        },
      }),
    );
    expect(missing.code).toBe(422);
    expect(missing.message).toContain('spec.warmPoolRef: Required value');
    expect(missing.message).toContain('spec.lifecycle.shutdownPolicy: Unsupported value: "Later"');
    const negative = await apiError(pool(-1));
    expect(negative.code).toBe(422);
    expect(fake.invalid.map((i) => i.errors.length)).toEqual([1, 2, 1]);
    fake.invalid.length = 0;

    await template();
    const made = (await custom.createNamespacedCustomObject({
      ...EXT,
      plural: 'sandboxwarmpools',
      body: {
        apiVersion: 'extensions.agents.x-k8s.io/v1beta1',
        kind: 'SandboxWarmPool',
        metadata: { name: 'defaulted' },
        spec: { sandboxTemplateRef: { name: 'worker' } },
      },
    })) as { spec: { replicas: number; updateStrategy?: unknown } };
    expect(made.spec.replicas).toBe(1);
    expect(fake.store.list(SANDBOX_TEMPLATES)).toHaveLength(1);
  });
});

describe('CRD schema validation', () => {
  const crd = loadCrd(
    '../shared/reference/agent-sandbox/extensions.agents.x-k8s.io_sandboxclaims.yaml',
    'v1beta1',
  );
  const claimArb = fc.record(
    {
      warmPoolRef: fc.record({ name: fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/) }),
      lifecycle: fc.record(
        {
          shutdownPolicy: fc.constantFrom('Delete', 'DeleteForeground', 'Retain'),
          shutdownTime: fc
            .date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
            .map((d) => d.toISOString().replace(/\.\d+Z$/, 'Z')),
          ttlSecondsAfterFinished: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        },
        { requiredKeys: [] },
      ),
    },
    { requiredKeys: ['warmPoolRef'] },
  );
  const wrap = (spec: object) => ({
    apiVersion: 'extensions.agents.x-k8s.io/v1beta1',
    kind: 'SandboxClaim',
    metadata: { name: 'c' },
    spec,
  });

  it('accepts every well-formed claim', () => {
    fc.assert(
      fc.property(claimArb, (spec) => validateCustomResource(crd, wrap(spec)).length === 0),
    );
  });

  it('refuses an unknown field at any level, naming its path', () => {
    const key = fc
      .stringMatching(/^[a-z][a-zA-Z]{0,10}$/)
      .filter(
        (k) =>
          ![
            'name',
            'lifecycle',
            'warmPoolRef',
            'env',
            'additionalPodMetadata',
            'volumeClaimTemplates',
            'shutdownPolicy',
            'shutdownTime',
            'ttlSecondsAfterFinished',
          ].includes(k),
      );
    fc.assert(
      fc.property(claimArb, key, fc.constantFrom('spec', 'spec.warmPoolRef'), (spec, k, where) => {
        const obj = wrap(structuredClone(spec)) as {
          spec: Record<string, unknown> & { warmPoolRef: Record<string, unknown> };
        };
        (where === 'spec' ? obj.spec : obj.spec.warmPoolRef)[k] = 1;
        expect(validateCustomResource(crd, obj)).toEqual([`${where}.${k}: unknown field "${k}"`]);
      }),
    );
  });

  it('refuses values outside the schema: wrong types, enums, bounds and date-times', () => {
    expect(
      validateCustomResource(
        crd,
        wrap({
          warmPoolRef: { name: 7 },
          lifecycle: { shutdownTime: 'tomorrow', ttlSecondsAfterFinished: -1 },
        }),
      ),
    ).toEqual([
      'spec.warmPoolRef.name: expected string, got integer 7',
      'spec.lifecycle.shutdownTime: expected an RFC 3339 date-time like 2006-01-02T15:04:05Z, got "tomorrow"',
      'spec.lifecycle.ttlSecondsAfterFinished: Invalid value: -1: should be greater than or equal to 0',
    ]);
    expect(
      validateCustomResource(crd, {
        ...wrap({ warmPoolRef: { name: 'p' } }),
        metadata: { name: 'c', colour: 'red' },
      }),
    ).toEqual(['metadata.colour: unknown field "colour"']);
  });
});

describe('fake agent-sandbox: injected controller defects', () => {
  it('doubleAdopt binds a second claim to the pod the first one holds', async () => {
    const { fake, template, pool, claim, readyWarmPods } = await start({ doubleAdopt: true });
    await template();
    await pool(2);
    await readyWarmPods(2);
    const first = await claim('first');
    const a = await readyClaim(fake, 'first');
    const second = await claim('second');
    const b = await readyClaim(fake, 'second');
    const name = a.status?.sandbox?.name ?? '';
    expect(b.status?.sandbox?.name).toBe(name);
    const pod = await fake.waitFor(() => {
      const p = podNamed(fake, name);
      return p?.metadata.labels?.[CLAIM_UID_LABEL] === first.metadata.uid && p;
    });
    expect(pod.metadata.labels?.[CLAIM_UID_LABEL]).not.toBe(second.metadata.uid);
  });

  it('stuckNotReady leaves a claim not Ready and never failed, while later claims proceed', async () => {
    const { fake, template, pool, claim, readyWarmPods } = await start({ stuckNotReady: true });
    await template();
    await pool(1);
    await readyWarmPods(1);
    await claim('stuck');
    const stuck = await fake.agentSandbox.waitFor(() => ready(claimOf(fake, 'stuck')));
    expect(stuck).toMatchObject({ status: 'False', reason: 'SandboxNotReady' });
    fake.agentSandbox.defects.stuckNotReady = false;
    await claim('fine');
    await readyClaim(fake, 'fine');
    await readyWarmPods(1);
    expect(ready(claimOf(fake, 'stuck'))).toEqual(stuck);
    expect(claimOf(fake, 'stuck')?.status?.sandbox?.name).toBeUndefined();
  });

  it('flapReady toggles Ready True and False a few times before it settles True', async () => {
    const { fake, kc, template, pool, claim, readyWarmPods } = await start({ flapReady: true });
    await template();
    await pool(1);
    await readyWarmPods(1);
    const watch = await watchReady(kc, 'flappy');
    await claim('flappy');
    await fake.agentSandbox.waitFor(() => watch.seen.length >= 7);
    watch.stop();
    expect(watch.seen).toEqual(['True', 'False', 'True', 'False', 'True', 'False', 'True']);
    expect(ready(claimOf(fake, 'flappy'))?.status).toBe('True');
  });

  it('adoptNotReady hands a claim a sandbox whose pod is not Ready and calls it Ready', async () => {
    // No image on the node: warm pods never start.
    const { fake, template, pool, claim } = await start({ adoptNotReady: true }, false);
    await template();
    await pool(1);
    const warm = await fake.agentSandbox.waitFor(() => {
      const [p] = fake.agentSandbox.warmPods(NS);
      return p?.status?.containerStatuses?.[0]?.state.waiting && p;
    });
    await claim('hasty');
    const c = await readyClaim(fake, 'hasty');
    expect(c.status?.sandbox?.name).toBe(warm.metadata.name);
    expect(podReady(podNamed(fake, warm.metadata.name))).toBe(false);
    const sandbox = fake.agentSandbox
      .sandboxes(NS)
      .find((s) => s.metadata.name === warm.metadata.name);
    expect(sandbox?.status?.conditions?.find((x) => x.type === 'Ready')?.status).toBe('False');

    fake.agentSandbox.defects.adoptNotReady = false;
    await claim('careful');
    const careful = await fake.agentSandbox.waitFor(() => ready(claimOf(fake, 'careful')));
    expect(careful.status).toBe('False');
    expect(claimOf(fake, 'careful')?.status?.sandbox?.name).toBe('careful');
  });
});
