import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../config.ts';

const minimal = 'sandbox: {kind: kubernetes, worker_url: "http://10.0.0.5:7700"}';

function problems(yaml: string): string {
  try {
    loadConfig({}, yaml);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected the configuration to be refused');
}

describe('sandbox kind kubernetes in forge.yaml', () => {
  it('needs only worker_url; the rest has defaults a cluster can run', () => {
    const { sandbox } = loadConfig({}, minimal);
    expect(sandbox).toEqual({
      kind: 'kubernetes',
      isolation: 'none',
      allowed_domains: [],
      namespace: 'forge-workers',
      image: 'ghcr.io/forge-dev/forge-worker:0.1.0',
      worker_url: 'http://10.0.0.5:7700',
      image_pull_secrets: [],
      node_selector: {},
      tolerations: [],
      resources: {
        requests: { cpu: '500m', memory: '1Gi' },
        limits: { cpu: '2', memory: '4Gi' },
      },
      workspace_size: '10Gi',
      start_timeout: 300_000,
      secrets: {},
    });
  });

  it('reads every key, with YAML numbers as quantities and durations as ms', () => {
    const { sandbox } = loadConfig(
      { POD_IP: '10.1.2.3' },
      `
sandbox:
  kind: kubernetes
  namespace: agents
  image: registry.example/forge-worker:1.2.3
  worker_url: http://\${POD_IP}:7700
  kubeconfig: /etc/forge/kubeconfig
  context: prod
  service_account: forge-worker
  image_pull_secrets: [regcred]
  node_selector: {pool: agents}
  tolerations: [{key: dedicated, operator: Equal, value: agents, effect: NoSchedule}]
  runtime_class: gvisor
  resources: {requests: {cpu: 1, memory: 2Gi}, limits: {cpu: 4, memory: 8Gi}}
  workspace_size: 20Gi
  start_timeout: 2m
  secrets: {ANTHROPIC_API_KEY: {secret: forge-model-keys, key: anthropic}}
`,
    );
    expect(sandbox).toMatchObject({
      namespace: 'agents',
      worker_url: 'http://10.1.2.3:7700',
      kubeconfig: '/etc/forge/kubeconfig',
      context: 'prod',
      service_account: 'forge-worker',
      image_pull_secrets: ['regcred'],
      node_selector: { pool: 'agents' },
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'agents', effect: 'NoSchedule' }],
      runtime_class: 'gvisor',
      resources: { requests: { cpu: '1', memory: '2Gi' }, limits: { cpu: '4', memory: '8Gi' } },
      workspace_size: '20Gi',
      start_timeout: 120_000,
      secrets: { ANTHROPIC_API_KEY: { secret: 'forge-model-keys', key: 'anthropic' } },
    });
  });

  it('reports every problem at once, each saying what to change', () => {
    const message = problems(`
sandbox:
  kind: kubernetes
  worker_url: ftp://forge
  isolation: srt
  namespace: Forge_Workers
  resources: {limits: {memory: lots}}
  tolerations: [{operator: Sometimes}]
  secrets: {HOME: {secret: s, key: k}, FORGE_WORKER_TOKEN: {secret: s, key: k}}
  surprise: true
`);
    expect(message).toMatch(/sandbox\.worker_url: give the URL worker pods dial/);
    expect(message).toMatch(/sandbox\.isolation: .*remove it/);
    expect(message).toMatch(/sandbox\.namespace: use lower-case letters/);
    expect(message).toMatch(/sandbox\.resources\.limits\.memory: not a Kubernetes quantity/);
    expect(message).toMatch(/sandbox\.tolerations\.0\.operator/);
    expect(message).toMatch(/sandbox\.secrets\.HOME: Forge sets this variable/);
    expect(message).toMatch(/sandbox\.secrets\.FORGE_WORKER_TOKEN: Forge sets this variable/);
    expect(message).toMatch(/Unrecognized key: "surprise"/);
  });

  it('requires worker_url, and refuses an unknown kind', () => {
    expect(problems('sandbox: {kind: kubernetes}')).toMatch(/sandbox\.worker_url/);
    expect(problems('sandbox: {kind: k8s}')).toMatch(
      /sandbox\.kind: use kind: local, kubernetes or agent-sandbox/,
    );
  });

  it('keeps the local sandbox the default, and its keys local only', () => {
    expect(loadConfig({}, 'sandbox: {isolation: none}').sandbox).toEqual({
      kind: 'local',
      isolation: 'none',
      allowed_domains: [],
      spawn: 'auto',
    });
    expect(problems('sandbox: {kind: local, spawn: fork}')).toMatch(/sandbox\.spawn/);
    expect(
      problems('sandbox: {kind: kubernetes, worker_url: "http://10.0.0.5:7700", spawn: node}'),
    ).toMatch(/Unrecognized key: "spawn"/);
    expect(problems('sandbox: {kind: local, namespace: x}')).toMatch(
      /Unrecognized key: "namespace"/,
    );
  });
});
