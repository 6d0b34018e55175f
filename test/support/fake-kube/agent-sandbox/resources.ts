/**
 * The four agent-sandbox kinds as entries of the fake apiserver's resource table, each checked
 * against its reference CustomResourceDefinition (../shared/reference/agent-sandbox) and defaulted
 * from the schema's `default`s, as the apiserver does for a CRD.
 */
import { applyCrdDefaults, loadCrd, validateCustomResource, type Crd } from '../../crd-schema.ts';
import type { ResourceType } from '../resources.ts';
import { checkMeta } from '../semantic-checks.ts';

const DIR = '../shared/reference/agent-sandbox';

function crdResource(file: string): ResourceType {
  const crd: Crd = loadCrd(`${DIR}/${file}`, 'v1beta1');
  const { group, kind, plural, namespaced } = crd;
  return {
    group,
    version: 'v1beta1',
    plural,
    kind,
    namespaced,
    hasSpec: true,
    defaultPropagation: 'Background',
    validate: (obj) => [...validateCustomResource(crd, obj), ...checkMeta(obj)],
    normalize: (obj) => applyCrdDefaults(crd.schema, obj),
  };
}

export const SANDBOXES = crdResource('agents.x-k8s.io_sandboxes.yaml');
export const SANDBOX_TEMPLATES = crdResource('extensions.agents.x-k8s.io_sandboxtemplates.yaml');
export const SANDBOX_WARM_POOLS = crdResource('extensions.agents.x-k8s.io_sandboxwarmpools.yaml');
export const SANDBOX_CLAIMS = crdResource('extensions.agents.x-k8s.io_sandboxclaims.yaml');

/** Pass to startFakeKube({ resources }) to serve the agent-sandbox API (without a controller). */
export function agentSandboxResources(): ResourceType[] {
  return [SANDBOXES, SANDBOX_TEMPLATES, SANDBOX_WARM_POOLS, SANDBOX_CLAIMS];
}
