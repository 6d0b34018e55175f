/**
 * A WorkerLauncher over warm local processes: the stand-in for an agent-sandbox warm pool. Each
 * "pod" runs the real `forge worker --warm` before any attempt exists, asking Forge for its attempt
 * by name with the pool token; `launch` picks an idle pod and offers it the attempt's token
 * through Forge's warm assignments, as the agent-sandbox launcher does once a claim binds a pod.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type {
  LaunchedWorker,
  LaunchFailure,
  WorkerLauncher,
} from '../../src/adapters/sandbox/remote/worker-launcher.ts';
import type { SandboxLabels } from '../../src/ports/sandbox.ts';
import { spawnWorker } from './process-launcher.ts';

export interface WarmPod {
  name: string;
  stderr: string[];
  exited: Promise<void>;
  /** The attempt it was given, once. */
  labels: SandboxLabels | null;
  stop(): void;
}

export interface WarmProcessPool extends WorkerLauncher {
  pods: WarmPod[];
  stopAll(): Promise<void>;
}

export function startWarmProcessPool(opts: {
  size: number;
  url: string;
  poolToken: string;
  baseDir: string;
  /** Forge's side: offer `token` to pod `pod` (RemoteAttempts.warm.offer). */
  offer: (pod: string, token: string) => void;
}): WarmProcessPool {
  const pods: WarmPod[] = Array.from({ length: opts.size }, (_, i) => {
    const name = `warm-${i}`;
    const dir = join(opts.baseDir, name);
    mkdirSync(dir, { recursive: true });
    const { proc, stderr, exited } = spawnWorker(
      ['--url', opts.url, 'worker', '--warm', '--dir', dir, '--give-up-after', '20s'],
      { HOME: dir, FORGE_POOL_TOKEN: opts.poolToken, FORGE_POD_NAME: name },
    );
    return { name, stderr, exited, labels: null, stop: () => proc.kill('SIGKILL') };
  });
  const never = new Promise<LaunchFailure>(() => {});
  return {
    kind: 'warm-process',
    label: 'warm-process',
    pods,
    launch(assignment): Promise<LaunchedWorker> {
      const pod = pods.find((p) => p.labels === null);
      if (!pod) return Promise.reject(new Error('no warm pod left'));
      pod.labels = assignment.labels;
      opts.offer(pod.name, assignment.token);
      return Promise.resolve({
        ref: `warm:${pod.name}`,
        failed: never,
        describe: () => Promise.resolve(pod.stderr.at(-1) ?? null),
        dispose: () => {},
      });
    },
    follow: () => Promise.resolve(null),
    stop: (ref) => {
      pods.find((p) => `warm:${p.name}` === ref)?.stop();
      return Promise.resolve();
    },
    held: () => Promise.resolve([]),
    doctor: () => Promise.resolve([]),
    async stopAll() {
      for (const p of pods) p.stop();
      await Promise.all(pods.map((p) => p.exited));
    },
  };
}
