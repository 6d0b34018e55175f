import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { validateAgainst, validateKubeObject } from './kube-schema.ts';

function job(container: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'forge-01', labels: { 'app.kubernetes.io/name': 'forge' } },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: 3600,
      template: {
        spec: {
          restartPolicy: 'Never',
          containers: [
            {
              name: 'agent',
              image: 'forge:1',
              command: ['forge', 'worker'],
              env: [{ name: 'A', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }],
              resources: {
                requests: { cpu: '500m', memory: '1Gi' },
                limits: { memory: 2147483648 },
              },
              securityContext: { runAsUser: 1000, runAsNonRoot: true },
              volumeMounts: [{ name: 'ws', mountPath: '/workspace' }],
              ...container,
            },
          ],
          volumes: [{ name: 'ws', emptyDir: { sizeLimit: '10Gi' } }],
        },
      },
    },
  };
}
const CONTAINER = 'spec.template.spec.containers[0]';

describe('validateKubeObject', () => {
  it('accepts a well-formed Job', () => {
    expect(validateKubeObject(job())).toEqual([]);
  });

  it('names an unknown (misspelled) field with its path', () => {
    expect(validateKubeObject(job({ comand: ['x'] }))).toEqual([
      `${CONTAINER}.comand: unknown field "comand"`,
    ]);
  });

  it('reports a wrong type with its path', () => {
    expect(validateKubeObject(job({ securityContext: { runAsUser: '1000' } }))).toEqual([
      `${CONTAINER}.securityContext.runAsUser: expected integer, got string "1000"`,
    ]);
  });

  it('reports a missing required field', () => {
    const errors = validateKubeObject(job({ name: undefined }));
    expect(errors).toEqual([`${CONTAINER}.name: Required value`]);
  });

  it('checks quantities, int32 range, map values and base64 secret data', () => {
    expect(validateKubeObject(job({ resources: { limits: { memory: '2 GB' } } }))[0]).toMatch(
      /resources\.limits\.memory: quantities must match/,
    );
    const big = job();
    (big.spec as Record<string, unknown>).backoffLimit = 2 ** 31;
    expect(validateKubeObject(big)).toEqual([
      'spec.backoffLimit: 2147483648 does not fit in int32',
    ]);
    const labels = job();
    (labels.metadata as Record<string, unknown>).labels = { a: 1 };
    expect(validateKubeObject(labels)).toEqual([
      'metadata.labels.a: expected string, got integer 1',
    ]);
    const secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's' },
      data: { k: 'not base64!' },
    };
    expect(validateKubeObject(secret)[0]).toMatch(/^data\.k: illegal base64/);
    expect(
      validateKubeObject({ ...secret, data: { k: Buffer.from('v').toString('base64') } }),
    ).toEqual([]);
  });

  it('says when there is no reference schema for the kind', () => {
    const errors = validateKubeObject({ apiVersion: 'apps/v1', kind: 'Deployment' });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/no reference schema for apps\/v1 Deployment/);
  });

  it('validates sub-objects by schema name, e.g. a Deployment pod template', () => {
    const template = (job().spec as { template: unknown }).template;
    expect(validateAgainst('io.k8s.api.core.v1.PodTemplateSpec', template)).toEqual([]);
    expect(
      validateAgainst('io.k8s.api.core.v1.PodTemplateSpec', { spec: { containers: [{}] } }),
    ).toEqual(['spec.containers[0].name: Required value']);
  });

  it('accepts every well-formed quantity and rejects strings with spaces or unknown suffixes', () => {
    const suffix = fc.constantFrom('', 'm', 'k', 'M', 'G', 'Ki', 'Mi', 'Gi', 'e3', 'E-2');
    fc.assert(
      fc.property(fc.nat(), suffix, (n, s) => {
        expect(
          validateKubeObject(job({ resources: { requests: { memory: `${n}${s}` } } })),
        ).toEqual([]);
      }),
    );
    fc.assert(
      fc.property(fc.nat(), fc.constantFrom(' Mi', 'MB', 'gb', 'Mii'), (n, s) => {
        expect(
          validateKubeObject(job({ resources: { requests: { memory: `${n}${s}` } } })),
        ).toHaveLength(1);
      }),
    );
  });
});
