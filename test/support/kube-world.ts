/**
 * What a `forge serve` on the fake cluster (fake-kube/) needs around it: the worker image's
 * `forge` (a wrapper running this checkout's bin/forge.js, optionally noting when each pod's
 * process started) and a kubeconfig pointing at the fake. Used by the Kubernetes end-to-end tests
 * and the kubernetes benchmark.
 */
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ROOT } from './forge-server.ts';

/** Writes `dir/forge`; put `dir` first on the image's PATH. With `startsFile`, each run appends
 *  `$EPOCHREALTIME` there first. `dir` must not be under /tmp: the fake kubelet maps the pod's
 *  /tmp mount onto paths that start with it. */
export async function writeWorkerForge(dir: string, startsFile?: string): Promise<void> {
  await writeFile(
    join(dir, 'forge'),
    [
      '#!/bin/bash',
      ...(startsFile ? [`echo "$EPOCHREALTIME" >> "${startsFile}"`] : []),
      `exec "${process.execPath}" "${join(ROOT, 'bin', 'forge.js')}" "$@"`,
      '',
    ].join('\n'),
  );
  await chmod(join(dir, 'forge'), 0o755);
}

/** Writes a kubeconfig for the fake at `server`; returns its path. */
export async function writeKubeconfig(dir: string, server: string): Promise<string> {
  const path = join(dir, `kubeconfig-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  await writeFile(
    path,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      // client-node refuses plain http unless TLS verification is off.
      clusters: [{ name: 'fake', cluster: { server, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'forge', user: {} }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'forge' } }],
      'current-context': 'fake',
    }),
  );
  return path;
}

/** The `server` and `sandbox` config of a `forge serve` on port `port` running its attempts as
 *  Jobs on the fake cluster, small pods so many fit on its one node; `sandbox` adds to it. */
export function kubeServerConfig(
  port: number,
  kubeconfig: string,
  image: string,
  namespace: string,
  sandbox: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    server: { host: '127.0.0.1', port },
    sandbox: {
      kind: 'kubernetes',
      namespace,
      image,
      worker_url: `http://127.0.0.1:${port}`,
      kubeconfig,
      start_timeout: '30s',
      resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { memory: '1Gi' } },
      ...sandbox,
    },
  };
}
