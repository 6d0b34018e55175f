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
