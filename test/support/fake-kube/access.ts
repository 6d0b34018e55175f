/**
 * RBAC, reduced to what a test needs: a list of denied (verb, group, resource) triples. A denied
 * request answers 403 in the apiserver's words, and a SelfSubjectAccessReview for it says
 * allowed: false, so both a permission check and the failure it predicts can be tested.
 */
import type { ResourceType } from './resources.ts';
import { KubeError, qualified } from './status.ts';

export interface Denial {
  verb: string;
  /** '' for the core group. */
  group: string;
  resource: string;
  subresource?: string;
}

const USER = 'system:serviceaccount:forge:forge';

/** The RBAC verb of a request: get/list/watch/create/update/patch/delete/deletecollection. */
export function verbOf(method: string, named: boolean, watch: boolean): string {
  if (method === 'GET') return named ? 'get' : watch ? 'watch' : 'list';
  if (method === 'POST') return 'create';
  if (method === 'PUT') return 'update';
  if (method === 'PATCH') return 'patch';
  if (method === 'DELETE') return named ? 'delete' : 'deletecollection';
  return method.toLowerCase();
}

export function isDenied(denials: Denial[], asked: Denial): boolean {
  return denials.some(
    (d) =>
      d.verb === asked.verb &&
      d.group === asked.group &&
      d.resource === asked.resource &&
      (d.subresource ?? '') === (asked.subresource ?? ''),
  );
}

export function forbidden(
  type: ResourceType,
  verb: string,
  namespace: string | undefined,
  name?: string,
  sub?: string,
): KubeError {
  const resource = sub ? `${type.plural}/${sub}` : type.plural;
  const where =
    namespace === undefined ? 'at the cluster scope' : `in the namespace "${namespace}"`;
  return new KubeError(
    403,
    `${qualified(type)}${name ? ` "${name}"` : ''} is forbidden: User "${USER}" cannot ${verb} resource "${resource}" in API group "${type.group}" ${where}`,
    'Forbidden',
    { ...(name ? { name } : {}), ...(type.group ? { group: type.group } : {}), kind: type.plural },
  );
}

/** POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews: the review with its status filled in. */
export function review(denials: Denial[], body: unknown): Record<string, unknown> {
  const review = (body ?? {}) as {
    spec?: { resourceAttributes?: Partial<Denial> & { namespace?: string } };
  };
  const attrs = review.spec?.resourceAttributes ?? {};
  const denied = isDenied(denials, {
    verb: attrs.verb ?? '',
    group: attrs.group ?? '',
    resource: attrs.resource ?? '',
    ...(attrs.subresource ? { subresource: attrs.subresource } : {}),
  });
  return {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SelfSubjectAccessReview',
    metadata: {},
    ...review,
    status: denied
      ? { allowed: false, denied: true, reason: 'denied by the fake cluster (opts.forbid)' }
      : { allowed: true },
  };
}
