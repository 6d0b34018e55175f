/**
 * API discovery (/api, /apis, /api/v1, /apis/{group}/{version}) built from the resource table,
 * so clients that map a kind to its resource (client-node's KubernetesObjectApi, kubectl) work.
 */
import { apiVersionOf, type ResourceType } from './resources.ts';

const VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];

/** The discovery document for `path`, or null when the path is not a discovery path. */
export function discovery(path: string, types: ResourceType[]): unknown {
  const clean = path.replace(/\/+$/, '');
  if (clean === '/api')
    return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] };
  if (clean === '/apis') return groupList(types);
  const gv = /^\/api\/(v1)$/.exec(clean) ?? /^\/apis\/([^/]+\/[^/]+)$/.exec(clean);
  if (!gv) return null;
  const inGroup = types.filter((t) => apiVersionOf(t) === gv[1]);
  if (inGroup.length === 0) return null;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: gv[1],
    resources: inGroup.flatMap((t) => [
      {
        name: t.plural,
        singularName: t.kind.toLowerCase(),
        namespaced: t.namespaced,
        kind: t.kind,
        verbs: VERBS,
      },
      ...(t.plural === 'pods' && t.group === ''
        ? [{ name: 'pods/log', singularName: '', namespaced: true, kind: 'Pod', verbs: ['get'] }]
        : []),
    ]),
  };
}

function groupList(types: ResourceType[]): unknown {
  const groups = new Map<string, Set<string>>();
  for (const t of types.filter((t) => t.group !== '')) {
    groups.set(t.group, (groups.get(t.group) ?? new Set()).add(t.version));
  }
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: [...groups].map(([name, versions]) => {
      const list = [...versions].map((version) => ({
        groupVersion: `${name}/${version}`,
        version,
      }));
      return { name, versions: list, preferredVersion: list[0] };
    }),
  };
}
