// Forge on Kubernetes killed mid-attempt: `kill -9` of the real `forge serve` while its worker pod
// (on the fake cluster, test/support/fake-kube) runs, then a new `forge serve` on the same data
// dir and address. The worker keeps running and retrying; the new server takes the attempt over
// (store.adopt, sandbox.adopt), the worker resends what the old one never took in, and the
// attempt finishes with its whole output, once.
import { kubeServerConfig, writeKubeconfig, writeWorkerForge } from '../support/kube-world.ts';
import { freePort } from '../support/loopback.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it, onTestFailed } from 'vitest';
import { startFakeKube, type FakeKube } from '../support/fake-kube/index.ts';
import {
  SCRIPTED_AGENT,
  startForge,
  stopAllForges,
  type ForgeProcess,
} from '../support/forge-server.ts';

const NS = 'forge-workers';
const IMAGE = 'ghcr.io/forge-dev/forge-worker:test';

let dir: string;
let fake: FakeKube;
beforeAll(async () => {
  // Not under /tmp: the fake kubelet maps the pod's /tmp mount onto paths that start with it.
  dir = await mkdtemp('/var/tmp/forge-e2e-kube-restart-');
  await writeWorkerForge(dir);
  fake = await startFakeKube({
    images: { [IMAGE]: { env: { PATH: `${dir}:/usr/bin:/bin` } } },
    terminationGracePeriodSeconds: 1,
  });
});
afterAll(async () => {
  await stopAllForges();
  await fake.close();
  await rm(dir, { recursive: true, force: true });
});

it('kill -9 of forge serve mid-attempt: a restarted server re-attaches and the attempt finishes with its whole output', async () => {
  const kubeconfig = await writeKubeconfig(dir, fake.url);
  const port = await freePort();
  const config = {
    ...kubeServerConfig(port, kubeconfig, IMAGE, NS),
    agents: {
      script: { kind: 'command', command: [process.execPath, SCRIPTED_AGENT, '{prompt_file}'] },
    },
  };
  let forge: ForgeProcess = await startForge({ config });
  onTestFailed(() => {
    console.error(forge.stderr);
    for (const pod of fake.pods())
      console.error(pod.metadata.name, fake.podOutput(pod.metadata.name));
  });
  const id = await forge.submit('lines 60 50; print the end');
  // Some output is in; the server dies without a word.
  await forge.waitFor(id, (j) => (j.attempts[0]?.output ?? '').includes('line 10 '), 60_000);
  forge.proc.kill('SIGKILL');
  await new Promise((resolve) => forge.proc.once('exit', resolve));
  expect(fake.pods(NS)).toHaveLength(1); // the worker still runs

  forge = await startForge({ config, dataDir: forge.dataDir });
  const job = await forge.waitFor(id, undefined, 60_000);
  expect(job.status).toBe('SUCCEEDED');
  expect(job.attempts).toHaveLength(1); // the same attempt, not a retry
  const log = (await forge.api<string>('GET', `/jobs/${id}/log`)).body;
  const numbers = log
    .split('\n')
    .filter((l) => l.startsWith('line '))
    .map((l) => Number(l.split(' ')[1]));
  expect(numbers).toEqual(Array.from({ length: 60 }, (_, i) => i));
  expect(log).toContain('re-attached to the running attempt');
  expect(log).toContain('the end');
  await fake.waitFor(() => fake.jobs(NS).length === 0, 20_000);
  expect(fake.invalid).toEqual([]);
}, 120_000);
