import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { launchFailure, type AttemptObjects } from './pod-failures.ts';
import { waitingReason } from './pod-waiting.ts';

const IMAGE = 'ghcr.io/forge-dev/forge-worker:0.1.0';

function pod(status: Record<string, unknown>, name = 'forge-01jd-1-abcde'): unknown {
  return {
    metadata: { name, creationTimestamp: '2026-11-28T12:00:00Z' },
    spec: {
      nodeName: 'node-a',
      containers: [
        { name: 'forge-worker', image: IMAGE, resources: { limits: { memory: '4Gi' } } },
      ],
    },
    status,
  };
}

function container(state: Record<string, unknown>): Record<string, unknown> {
  return { containerStatuses: [{ name: 'forge-worker', image: IMAGE, state }] };
}

function job(conditions: unknown[] = [], extra: Record<string, unknown> = {}): unknown {
  return {
    metadata: { name: 'forge-01jd-1' },
    spec: { activeDeadlineSeconds: 3660, ...extra },
    status: { conditions },
  };
}

function state(partial: Partial<AttemptObjects>): AttemptObjects {
  return {
    job: job(),
    pods: [],
    deletedPods: [],
    jobDeleted: false,
    namespace: 'forge-workers',
    ...partial,
  };
}

const cases: Array<[string, Partial<AttemptObjects>, string | null, RegExp | null]> = [
  [
    'a running worker is fine',
    { pods: [pod({ phase: 'Running', ...container({ running: {} }) })] },
    null,
    null,
  ],
  [
    'a pending pod being created is fine',
    {
      pods: [pod({ phase: 'Pending', ...container({ waiting: { reason: 'ContainerCreating' } }) })],
    },
    null,
    null,
  ],
  [
    'an unschedulable pod is waiting, not failed',
    {
      pods: [
        pod({
          phase: 'Pending',
          conditions: [
            {
              type: 'PodScheduled',
              status: 'False',
              reason: 'Unschedulable',
              message: '0/3 nodes are available: 3 Insufficient memory.',
            },
          ],
        }),
      ],
    },
    null,
    null,
  ],
  [
    'a worker that finished is fine',
    {
      job: job([{ type: 'Complete', status: 'True' }]),
      pods: [
        pod({
          phase: 'Succeeded',
          ...container({ terminated: { reason: 'Completed', exitCode: 0 } }),
        }),
      ],
    },
    null,
    null,
  ],
  [
    'an image that cannot be pulled names the image and what to check',
    {
      pods: [
        pod({
          phase: 'Pending',
          ...container({
            waiting: {
              reason: 'ImagePullBackOff',
              message: 'Back-off pulling image "ghcr.io/forge-dev/forge-worker:0.1.0"',
            },
          }),
        }),
      ],
    },
    'sandbox',
    /worker image "ghcr\.io\/forge-dev\/forge-worker:0\.1\.0" cannot be pulled \(ImagePullBackOff.*check the name and tag in sandbox\.image.*image_pull_secrets/,
  ],
  [
    'ErrImagePull too',
    {
      pods: [
        pod({
          phase: 'Pending',
          ...container({ waiting: { reason: 'ErrImagePull', message: 'manifest unknown' } }),
        }),
      ],
    },
    'sandbox',
    /cannot be pulled \(ErrImagePull: manifest unknown\)/,
  ],
  [
    'an invalid image name',
    {
      pods: [
        pod({
          phase: 'Pending',
          ...container({
            waiting: {
              reason: 'InvalidImageName',
              message: 'Failed to apply default image tag "Bad:Image"',
            },
          }),
        }),
      ],
    },
    'sandbox',
    /not a valid image reference.*fix sandbox\.image/,
  ],
  [
    'a missing Secret is named, with how to create it',
    {
      pods: [
        pod({
          phase: 'Pending',
          ...container({
            waiting: {
              reason: 'CreateContainerConfigError',
              message: 'secret "forge-model-keys" not found',
            },
          }),
        }),
      ],
    },
    'sandbox',
    /Secret "forge-model-keys" does not exist in namespace forge-workers; create it \(kubectl -n forge-workers create secret generic forge-model-keys/,
  ],
  [
    'a missing key in a Secret',
    {
      pods: [
        pod({
          phase: 'Pending',
          ...container({
            waiting: {
              reason: 'CreateContainerConfigError',
              message: "couldn't find key anthropic in Secret forge-workers/forge-model-keys",
            },
          }),
        }),
      ],
    },
    'sandbox',
    /Secret "forge-model-keys" in namespace forge-workers has no key "anthropic"/,
  ],
  [
    'an OOM kill says to raise the memory limit',
    {
      pods: [
        pod({
          phase: 'Failed',
          ...container({ terminated: { reason: 'OOMKilled', exitCode: 137 } }),
        }),
      ],
    },
    'sandbox',
    /ran out of memory \(OOMKilled at its limit of 4Gi\); raise sandbox\.resources\.limits\.memory/,
  ],
  [
    'an eviction is an interruption',
    {
      pods: [
        pod({
          phase: 'Failed',
          reason: 'Evicted',
          message: 'The node was low on resource: ephemeral-storage.',
        }),
      ],
    },
    'interrupted',
    /evicted from node node-a: The node was low on resource: ephemeral-storage/,
  ],
  [
    'a preemption is an interruption',
    {
      pods: [
        pod({
          phase: 'Running',
          conditions: [
            {
              type: 'DisruptionTarget',
              status: 'True',
              reason: 'PreemptionByScheduler',
              message: 'preempted',
            },
          ],
        }),
      ],
    },
    'interrupted',
    /stopped by Kubernetes \(PreemptionByScheduler: preempted\)/,
  ],
  [
    'the Job deadline is max_duration',
    {
      job: job([
        {
          type: 'Failed',
          status: 'True',
          reason: 'DeadlineExceeded',
          message: 'Job was active longer than specified deadline',
        },
      ]),
      deletedPods: [pod({ phase: 'Running' })],
    },
    'max_duration',
    /ran past its activeDeadlineSeconds \(3660s\)/,
  ],
  [
    'a worker that crashed',
    {
      pods: [
        pod({
          phase: 'Failed',
          ...container({ terminated: { reason: 'Error', exitCode: 2, message: 'boom' } }),
        }),
      ],
    },
    'interrupted',
    /worker in pod forge-01jd-1-abcde stopped \(Error, exit code 2\): boom; see kubectl logs/,
  ],
  [
    'a pod deleted by someone else',
    { deletedPods: [pod({ phase: 'Running', ...container({ running: {} }) })] },
    'interrupted',
    /was deleted before the worker finished/,
  ],
  [
    'a Job deleted by someone else',
    { jobDeleted: true },
    'interrupted',
    /Job forge-01jd-1 was deleted by someone other than Forge/,
  ],
  [
    'a Job failed for another reason',
    {
      job: job([
        {
          type: 'Failed',
          status: 'True',
          reason: 'BackoffLimitExceeded',
          message: 'Job has reached the specified backoff limit',
        },
      ]),
    },
    'interrupted',
    /Job forge-01jd-1 failed \(BackoffLimitExceeded/,
  ],
  [
    'the pod says more than the Job',
    {
      job: job([{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }]),
      pods: [
        pod({
          phase: 'Failed',
          ...container({ terminated: { reason: 'OOMKilled', exitCode: 137 } }),
        }),
      ],
    },
    'sandbox',
    /OOMKilled/,
  ],
];

describe('launchFailure', () => {
  it.each(cases)('%s', (_name, partial, category, message) => {
    const found = launchFailure(state(partial));
    if (category === null) expect(found).toBeNull();
    else {
      expect(found?.category).toBe(category);
      expect(found?.message).toMatch(message!);
    }
  });

  it('never throws, whatever shapes the API sends', () => {
    const anything = fc.anything({ withObjectString: true, withNullPrototype: true, maxDepth: 6 });
    const podLike = fc.record({
      metadata: fc.oneof(anything, fc.record({ name: fc.string() })),
      status: fc.oneof(
        anything,
        fc.record({
          phase: fc.constantFrom('Pending', 'Running', 'Failed', 'Succeeded', 'Unknown', 7),
          reason: fc.oneof(fc.constantFrom('Evicted', 'DeadlineExceeded'), anything),
          conditions: fc.oneof(
            anything,
            fc.array(fc.record({ type: anything, status: anything, message: anything })),
          ),
          containerStatuses: fc.oneof(
            anything,
            fc.array(fc.record({ name: anything, state: anything })),
          ),
        }),
      ),
    });
    fc.assert(
      fc.property(
        fc.oneof(anything, podLike),
        fc.oneof(anything, fc.array(fc.oneof(anything, podLike))),
        fc.oneof(anything, fc.array(podLike)),
        fc.boolean(),
        (jobValue, pods, deleted, jobDeleted) => {
          const input = {
            job: jobValue,
            pods,
            deletedPods: deleted,
            jobDeleted,
            namespace: 'ns',
          } as AttemptObjects;
          const found = launchFailure(input);
          expect(found === null || typeof found.message === 'string').toBe(true);
          const said = waitingReason(jobValue, pods as unknown[]);
          expect(said === null || typeof said === 'string').toBe(true);
        },
      ),
    );
  });
});

describe('waitingReason', () => {
  it('quotes the scheduler with a hint on what to change', () => {
    const said = waitingReason(job(), [
      pod({
        phase: 'Pending',
        conditions: [
          {
            type: 'PodScheduled',
            status: 'False',
            reason: 'Unschedulable',
            message: '0/3 nodes are available: 3 Insufficient memory.',
          },
        ],
      }),
    ]);
    expect(said).toBe(
      'pod forge-01jd-1-abcde Pending: 0/3 nodes are available: 3 Insufficient memory.; lower sandbox.resources.requests or add nodes with room (a cluster autoscaler may be adding one)',
    );
  });

  it('points at tolerations for taints and at node_selector for affinity', () => {
    const taints = waitingReason(job(), [
      pod({
        phase: 'Pending',
        conditions: [
          {
            type: 'PodScheduled',
            status: 'False',
            message: '0/2 nodes are available: 2 node(s) had untolerated taint {dedicated: gpu}.',
          },
        ],
      }),
    ]);
    expect(taints).toMatch(/add sandbox\.tolerations/);
    const selector = waitingReason(job(), [
      pod({
        phase: 'Pending',
        conditions: [
          {
            type: 'PodScheduled',
            status: 'False',
            message:
              "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector.",
          },
        ],
      }),
    ]);
    expect(selector).toMatch(/check sandbox\.node_selector/);
  });

  it("describes the newest pod's container, or the Job when there is no pod", () => {
    const older = {
      ...(pod({ phase: 'Failed' }, 'old') as object),
      metadata: { name: 'old', creationTimestamp: '2026-11-28T11:00:00Z' },
    };
    expect(
      waitingReason(job(), [
        pod({ phase: 'Pending', ...container({ waiting: { reason: 'ContainerCreating' } }) }),
        older,
      ]),
    ).toBe('pod forge-01jd-1-abcde Pending: container forge-worker waiting (ContainerCreating)');
    expect(waitingReason(job(), [pod({ phase: 'Running', ...container({ running: {} }) })])).toBe(
      'pod forge-01jd-1-abcde Running on node node-a',
    );
    expect(waitingReason(job(), [])).toBe('Job forge-01jd-1 has no pod yet');
    expect(waitingReason(job([], { suspend: true }), [])).toMatch(/still suspended/);
    expect(waitingReason(null, [])).toBeNull();
  });
});
