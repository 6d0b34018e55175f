// The agent-sandbox launcher against the fake cluster and its fake agent-sandbox controller
// (test/support/fake-kube/agent-sandbox), whose warm pods here are idle processes: what is checked
// is which pod the launcher offers an attempt to, and when, including under the controller's
// known defects.
import { SECRETS } from '../../../../test/support/fake-kube/resources.ts';
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { dirname } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  CLAIM_UID_LABEL,
  startFakeAgentSandbox,
  type AgentSandboxDefects,
  type FakeAgentSandbox,
} from '../../../../test/support/fake-kube/agent-sandbox/index.ts';
import { createClaimLauncher } from './claim-launcher.ts';

const NS = 'forge-workers';
const IMAGE = 'forge-worker:1';
const PATH = `${dirname(process.execPath)}:/usr/bin:/bin`;
const EXT = { group: 'extensions.agents.x-k8s.io', version: 'v1beta1', namespace: NS };
const IDLE = 'setInterval(() => {}, 1 << 30)';

let fake: FakeAgentSandbox | undefined;
afterEach(async () => {
  if (fake) expect(fake.invalid).toEqual([]);
  await fake?.close();
  fake = undefined;
});

async function world(
  defects: Partial<AgentSandboxDefects> = {},
  replicas = 2,
  /** Wait for the warm pods to be Ready before any claim. */
  warmFirst = true,
  /** The pods' image (one the fake node cannot pull keeps them from ever being Ready). */
  image = IMAGE,
) {
  fake = await startFakeAgentSandbox({
    images: { [IMAGE]: { env: { PATH } } },
    terminationGracePeriodSeconds: 1,
    defects,
  });
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'fake', server: fake.url, skipTLSVerify: true }],
    users: [{ name: 'forge' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'forge', namespace: NS }],
    currentContext: 'fake',
  });
  const custom = config.makeApiClient(CustomObjectsApi);
  await custom.createNamespacedCustomObject({
    ...EXT,
    plural: 'sandboxtemplates',
    body: {
      apiVersion: 'extensions.agents.x-k8s.io/v1beta1',
      kind: 'SandboxTemplate',
      metadata: { name: 'worker' },
      spec: {
        podTemplate: {
          spec: { containers: [{ name: 'worker', image, command: ['node', '-e', IDLE] }] },
        },
      },
    },
  });
  await custom.createNamespacedCustomObject({
    ...EXT,
    plural: 'sandboxwarmpools',
    body: {
      apiVersion: 'extensions.agents.x-k8s.io/v1beta1',
      kind: 'SandboxWarmPool',
      metadata: { name: 'workers' },
      spec: { replicas, sandboxTemplateRef: { name: 'worker' } },
    },
  });
  const offers: { pod: string; token: string; podReady: boolean }[] = [];
  const isReady = (name: string) =>
    fake!
      .pods(NS)
      .find((p) => p.metadata.name === name)
      ?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  const withdrawn: string[] = [];
  const make = (warmPool = 'workers', template?: string) =>
    createClaimLauncher({
      config,
      namespace: NS,
      warmPool,
      ...(template ? { template } : {}),
      offer: (pod, token) => offers.push({ pod, token, podReady: isReady(pod) }),
      withdraw: (pod) => withdrawn.push(pod),
      poolToken: () => 'the-pool-token',
      poolSecret: 'forge-warm-pool',
    });
  const f = fake;
  if (warmFirst)
    await f.agentSandbox.waitFor(
      () =>
        f.agentSandbox
          .warmPods(NS)
          .filter((p) =>
            p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
          ).length === replicas,
    );
  return { fake: f, launcher: make(), make, offers, withdrawn };
}

const assignment = (attempt: number, token = `token-${attempt}`) => ({
  labels: { jobId: '01JD8X3Y4Z5A6B7C8D9E0F1G2H', attempt },
  url: 'http://forge.test:7700',
  token,
  maxDurationMs: 60_000,
});

const podOf = (f: FakeAgentSandbox, name: string) =>
  f.pods(NS).find((p) => p.metadata.name === name);

describe('agent-sandbox launcher', () => {
  it("claims a warm pod and offers the attempt to that pod, checked as the claim's", async () => {
    const w = await world();
    const launched = await w.launcher.launch(assignment(1));
    await vi.waitFor(() => expect(w.offers).toHaveLength(1), { timeout: 10_000 });
    const { pod } = w.offers[0]!;
    const claim = w.fake.agentSandbox.claims(NS)[0]!;
    expect(claim.spec).toMatchObject({
      warmPoolRef: { name: 'workers' },
      lifecycle: { shutdownPolicy: 'Delete' },
    });
    expect(podOf(w.fake, pod)?.metadata.labels?.[CLAIM_UID_LABEL]).toBe(claim.metadata.uid);
    expect(w.offers).toEqual([{ pod, token: 'token-1', podReady: true }]);
    expect(await w.launcher.held()).toEqual([{ ref: launched.ref, labels: assignment(1).labels }]);
    expect(await w.launcher.follow(launched.ref, assignment(1).labels)).not.toBeNull();
    await w.launcher.stop(launched.ref, assignment(1).labels);
    await w.fake.agentSandbox.waitFor(
      () => w.fake.agentSandbox.claims(NS).length === 0 && !podOf(w.fake, pod),
    );
    expect(await w.launcher.follow(launched.ref, assignment(1).labels)).toBeNull();
    launched.dispose();
    // The warm pods' pool token was written for their template to read.
    const secret = w.fake.store
      .list(SECRETS, NS)
      .find((o) => o.metadata.name === 'forge-warm-pool');
    expect(
      Buffer.from(
        String((secret as { data?: { token?: string } }).data?.token),
        'base64',
      ).toString(),
    ).toBe('the-pool-token');
  });

  it('forge doctor finds the warm pool and its template, or says what to fix', async () => {
    const w = await world();
    expect(await w.make('workers', 'worker').doctor()).toMatchObject([{ ok: true }]);
    const [missing] = await w.make('workers', 'no-such-template').doctor();
    expect(missing).toMatchObject({ ok: false, level: 'error' });
    expect(missing!.detail).toContain('sandbox.template');
  });

  it('ends the attempt as interrupted when its pod dies under it', async () => {
    const w = await world();
    const launched = await w.launcher.launch(assignment(1));
    await vi.waitFor(() => expect(w.offers).toHaveLength(1), { timeout: 10_000 });
    w.fake.evict(w.offers[0]!.pod, 'The node was low on resource: memory.');
    const failure = await launched.failed;
    expect(failure.category).toBe('interrupted');
    expect(failure.message).toContain(w.offers[0]!.pod);
    launched.dispose();
  });

  it('fails at once, as sandbox, for a warm pool that does not exist', async () => {
    const w = await world();
    const launched = await w.make('no-such-pool').launch(assignment(1));
    const failure = await launched.failed;
    expect(failure).toMatchObject({ category: 'sandbox' });
    expect(failure.message).toContain('WarmPoolNotFound');
    expect(w.offers).toEqual([]);
  });

  it('never offers one pod to two claims the controller adopted it for', async () => {
    const w = await world({ doubleAdopt: true });
    const first = await w.launcher.launch(assignment(1));
    const second = await w.launcher.launch(assignment(2));
    const failure = await Promise.race([first.failed, second.failed]);
    expect(failure).toMatchObject({ category: 'interrupted' });
    expect(failure.message).toContain('AdoptionConflict');
    expect(w.offers).toHaveLength(1);
    first.dispose();
    second.dispose();
  });

  it('never offers a pod the controller adopted while it is not Ready, though the claim says Ready', async () => {
    const w = await world({ adoptNotReady: true }, 1, false, 'no-such-image:1');
    const launched = await w.launcher.launch(assignment(1));
    await vi.waitFor(() => expect(launched.describe()).resolves.toMatch(/Ready=True/), {
      timeout: 10_000,
    });
    // The launcher has looked at the pod again and again, and offered it nothing.
    const looks = () =>
      w.fake.requests.filter((r) => r.method === 'GET' && /\/pods\/[^/]+$/.test(r.path)).length;
    await vi.waitFor(() => expect(looks()).toBeGreaterThanOrEqual(3), { timeout: 10_000 });
    expect(w.offers).toEqual([]);
    launched.dispose();
  });

  it('offers once, however often Ready flaps', async () => {
    const w = await world({ flapReady: true });
    const launched = await w.launcher.launch(assignment(1));
    await vi.waitFor(() => expect(w.offers).toHaveLength(1), { timeout: 10_000 });
    await w.fake.agentSandbox.waitFor(() => {
      const c = w.fake.agentSandbox.claims(NS)[0];
      return c?.status?.conditions?.find((x) => x.type === 'Ready')?.status === 'True';
    });
    expect(w.offers).toHaveLength(1);
    launched.dispose();
  });

  it('says why a claim that never becomes Ready is waiting, and offers nothing', async () => {
    const w = await world({ stuckNotReady: true });
    const launched = await w.launcher.launch(assignment(1));
    await w.fake.agentSandbox.waitFor(() =>
      w.fake.agentSandbox.claims(NS)[0]?.status?.conditions?.some((c) => c.type === 'Ready'),
    );
    await vi.waitFor(
      () => expect(launched.describe()).resolves.toMatch(/Ready=False SandboxNotReady/),
      { timeout: 10_000 },
    );
    expect(w.offers).toEqual([]);
    launched.dispose();
  });
});
