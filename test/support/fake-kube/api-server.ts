/**
 * The HTTP face of the fake cluster: REST verbs on /api/v1 and /apis/{group}/{version} for every
 * type in the resource table, answering as the apiserver does (Status errors, List kinds, watch
 * streams, 422 with the schema's complaints for any object that does not validate). Test hooks:
 * the request log, failNext, and cutting open watches.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { forbidden, isDenied, review, verbOf, type Denial } from './access.ts';
import { discovery } from './discovery.ts';
import type { LogBuffer } from './log-buffer.ts';
import type { ObjectStore } from './object-store.ts';
import { applyPatch } from './patch.ts';
import { servePodLog } from './pod-logs.ts';
import type { Pod } from './pod-types.ts';
import {
  apiVersionOf,
  NAMESPACES,
  PODS,
  type KubeObject,
  type PropagationPolicy,
  type ResourceType,
} from './resources.ts';
import { fieldMatcher, labelMatcher } from './selectors.ts';
import { badRequest, conflict, invalid, KubeError, notFound } from './status.ts';
import { isWatch, notFoundPath, parseRoute, readJson, sendJson, type Route } from './http-route.ts';
import { serveWatch, type OpenWatch } from './watch.ts';

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body?: unknown;
  /** When it was received (epoch ms, sub-millisecond), for benchmarks that subtract the fake's
   *  own latency. */
  at: number;
}
export interface InvalidRequest {
  method: string;
  path: string;
  errors: string[];
  object: unknown;
}
export interface DeleteOptions {
  propagationPolicy?: PropagationPolicy;
  gracePeriodSeconds?: number;
}

export interface ApiServerOptions {
  store: ObjectStore;
  types: ResourceType[];
  /** When set, every request needs `Authorization: Bearer <token>`. */
  token?: string;
  /** When set, only Namespace objects in the store exist (creating elsewhere is 404); otherwise any does. */
  namespaces?: string[];
  /** Requests (and access reviews) to refuse with 403. */
  forbid?: Denial[];
  bookmarkIntervalMs: number;
  deleteObject(
    type: ResourceType,
    namespace: string,
    name: string,
    options: DeleteOptions,
  ): KubeObject;
  /** Why admission refuses a pod (see admission.ts); null to admit it. */
  admitPod(pod: Pod): string | null;
  podLogs(name: string): Map<string, LogBuffer> | undefined;
}

export interface ApiServer {
  server: Server;
  requests: RecordedRequest[];
  invalid: InvalidRequest[];
  failNext: (method: string, path: RegExp, status: number, message?: string) => void;
  cutWatches: (how?: 'end' | 'destroy') => number;
}

export function createApiServer(opts: ApiServerOptions): ApiServer {
  const requests: RecordedRequest[] = [];
  const invalidRequests: InvalidRequest[] = [];
  const failures: Array<{ method: string; path: RegExp; status: number; message?: string }> = [];
  const watches = new Set<OpenWatch>();

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const e =
        err instanceof KubeError ? err : new KubeError(500, `fake apiserver bug: ${String(err)}`);
      if (res.headersSent) return void res.destroy();
      sendJson(res, e.code, e.toStatus());
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method ?? 'GET';
    const body = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(method)
      ? await readJson(req)
      : undefined;
    requests.push({
      at: performance.timeOrigin + performance.now(),
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      ...(body === undefined ? {} : { body }),
    });
    if (opts.token && req.headers.authorization !== `Bearer ${opts.token}`) {
      throw new KubeError(401, 'Unauthorized');
    }
    const failure = failures.findIndex((f) => f.method === method && f.path.test(url.pathname));
    if (failure >= 0) {
      const [f] = failures.splice(failure, 1);
      throw new KubeError(
        f!.status,
        f!.message ?? `injected failure (fake.failNext) for ${method} ${url.pathname}`,
      );
    }
    if (url.pathname === '/version')
      return sendJson(res, 200, {
        major: '1',
        minor: '33',
        gitVersion: 'v1.33.0-fake',
        platform: 'linux/amd64',
      });
    if (
      method === 'POST' &&
      url.pathname === '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews'
    ) {
      return sendJson(res, 201, review(opts.forbid ?? [], body));
    }
    const doc = method === 'GET' ? discovery(url.pathname, opts.types) : null;
    if (doc) return sendJson(res, 200, doc);
    const route = parseRoute(url.pathname, opts.types);
    const q = url.searchParams;
    const verb = verbOf(method, route.name !== undefined, isWatch(q));
    const asked = {
      verb,
      group: route.type.group,
      resource: route.type.plural,
      ...(route.sub ? { subresource: route.sub } : {}),
    };
    if (isDenied(opts.forbid ?? [], asked))
      throw forbidden(route.type, verb, route.namespace, route.name, route.sub);
    if (method === 'GET' && route.name && route.sub === 'log' && route.type === PODS) {
      const pod = get(route) as Pod;
      return servePodLog(req, res, pod, opts.podLogs(pod.metadata.name), q);
    }
    if (route.sub && route.sub !== 'status') throw notFoundPath(url.pathname);
    if (method === 'GET' && !route.name && isWatch(q)) return watch(req, res, route, q);
    if (method === 'GET')
      return route.name ? sendJson(res, 200, get(route)) : sendJson(res, 200, list(route, q));
    if (method === 'POST' && !route.name) return sendJson(res, 201, create(route, body, q));
    if (method === 'PUT' && route.name)
      return sendJson(res, 200, update(route, body, method, url.pathname));
    if (method === 'PATCH' && route.name) {
      const patched = applyPatch(get(route), req.headers['content-type'] ?? '', body) as KubeObject;
      return sendJson(res, 200, update(route, patched, method, url.pathname, true));
    }
    if (method === 'DELETE' && route.name) return sendJson(res, 200, remove(route, body, q));
    throw new KubeError(
      405,
      `the server does not allow this method on the requested resource: ${method} ${url.pathname}`,
      'MethodNotAllowed',
    );
  }

  function get(route: Route): KubeObject {
    const obj = opts.store.get(route.type, route.namespace ?? '', route.name ?? '');
    if (obj) return obj;
    if (route.type === NAMESPACES && !opts.namespaces) return ensureNamespace(route.name ?? '');
    throw notFound(route.type, route.name ?? '');
  }

  /** Without opts.namespaces every namespace exists: its object is made when first needed. */
  function ensureNamespace(name: string): KubeObject {
    const existing = opts.store.get(NAMESPACES, '', name);
    if (existing) return existing;
    return opts.store.create(NAMESPACES, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name },
    });
  }

  function matcher(q: URLSearchParams): (o: KubeObject) => boolean {
    const labels = labelMatcher(q.get('labelSelector'));
    const fields = fieldMatcher(q.get('fieldSelector'));
    return (o) => labels(o) && fields(o);
  }

  function list(route: Route, q: URLSearchParams): unknown {
    const matches = matcher(q);
    const all =
      route.namespace === undefined
        ? opts.store.list(route.type)
        : opts.store.list(route.type, route.namespace);
    // In key order (namespace/name) as from etcd, paged by limit and continue.
    const keyOf = (o: KubeObject): string => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    const after = q.get('continue')
      ? Buffer.from(q.get('continue') ?? '', 'base64url').toString()
      : '';
    let page = all
      .filter(matches)
      .sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : 1))
      .filter((o) => keyOf(o) > after);
    const limit = Number(q.get('limit') ?? 0);
    const remaining = limit > 0 ? page.length - limit : 0;
    if (remaining > 0) page = page.slice(0, limit);
    const last = page.at(-1);
    const meta = {
      resourceVersion: opts.store.resourceVersion,
      ...(remaining > 0 && last
        ? {
            continue: Buffer.from(keyOf(last)).toString('base64url'),
            remainingItemCount: remaining,
          }
        : {}),
    };
    // List items carry no apiVersion/kind on the wire, as from a real apiserver.
    const items = page.map(({ apiVersion: _a, kind: _k, ...rest }) => rest);
    return {
      kind: `${route.type.kind}List`,
      apiVersion: apiVersionOf(route.type),
      metadata: meta,
      items,
    };
  }

  function watch(
    req: IncomingMessage,
    res: ServerResponse,
    route: Route,
    q: URLSearchParams,
  ): void {
    const timeout = q.get('timeoutSeconds');
    serveWatch(
      req,
      res,
      {
        store: opts.store,
        type: route.type,
        namespace: route.namespace,
        matches: matcher(q),
        resourceVersion: q.get('resourceVersion') ?? '',
        timeoutSeconds: timeout ? Number(timeout) : undefined,
        bookmarks: q.get('allowWatchBookmarks') === 'true',
        bookmarkIntervalMs: opts.bookmarkIntervalMs,
      },
      watches,
    );
  }

  /** Fills apiVersion/kind from the endpoint when absent, as the apiserver does; refuses a mismatch. */
  function typed(route: Route, body: unknown): KubeObject {
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw badRequest('the request body must be a JSON object');
    const obj = {
      apiVersion: apiVersionOf(route.type),
      kind: route.type.kind,
      ...body,
    } as KubeObject;
    if (obj.apiVersion !== apiVersionOf(route.type) || obj.kind !== route.type.kind) {
      throw badRequest(
        `the API version in the data (${obj.apiVersion}) and kind (${obj.kind}) do not match the endpoint (${apiVersionOf(route.type)} ${route.type.kind})`,
      );
    }
    obj.metadata ??= { name: '' };
    if (
      route.namespace !== undefined &&
      obj.metadata.namespace &&
      obj.metadata.namespace !== route.namespace
    ) {
      throw badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
    if (route.type.namespaced) obj.metadata.namespace = route.namespace;
    return obj;
  }

  function check(
    route: Route,
    obj: KubeObject,
    method: string,
    path: string,
    old?: KubeObject,
  ): void {
    const errors = [
      ...route.type.validate(obj),
      ...(old && route.type.validateUpdate ? route.type.validateUpdate(obj, old) : []),
    ];
    if (errors.length === 0) return;
    invalidRequests.push({ method, path, errors, object: obj });
    throw invalid(route.type, obj.metadata?.name || obj.metadata?.generateName || '', errors);
  }

  function create(route: Route, body: unknown, q: URLSearchParams): KubeObject {
    if (route.namespace === undefined && route.type.namespaced)
      throw new KubeError(
        405,
        'create needs a namespace: POST to /namespaces/{namespace}/…',
        'MethodNotAllowed',
      );
    const obj = typed(route, body);
    if (
      route.namespace !== undefined &&
      (opts.namespaces
        ? !opts.store.get(NAMESPACES, '', route.namespace)
        : !ensureNamespace(route.namespace))
    ) {
      throw new KubeError(404, `namespaces "${route.namespace}" not found`, 'NotFound', {
        name: route.namespace,
        kind: 'namespaces',
      });
    }
    check(route, obj, 'POST', pathOf(route), undefined);
    const refused = route.type === PODS ? opts.admitPod(obj as Pod) : null;
    if (refused)
      throw new KubeError(403, refused, 'Forbidden', { name: obj.metadata.name, kind: 'pods' });
    delete obj.status;
    delete obj.metadata.resourceVersion;
    route.type.normalize?.(obj);
    if (q.get('dryRun') === 'All') return obj;
    return opts.store.create(route.type, obj);
  }

  function update(
    route: Route,
    body: unknown,
    method: string,
    path: string,
    patch = false,
  ): KubeObject {
    const old = get(route);
    const next = typed(route, body);
    if (next.metadata.name !== route.name)
      throw badRequest(
        `the name of the object (${next.metadata.name}) does not match the name on the URL (${route.name})`,
      );
    // The main resource ignores status changes and the status subresource ignores everything else.
    const merged =
      route.sub === 'status'
        ? { ...old, status: next.status }
        : { ...next, ...(old.status === undefined ? {} : { status: old.status }) };
    const expected =
      patch && next.metadata.resourceVersion === old.metadata.resourceVersion
        ? undefined
        : next.metadata.resourceVersion;
    // A stale write is a conflict before it is anything else, as in the apiserver.
    if (expected && expected !== old.metadata.resourceVersion)
      throw conflict(route.type, old.metadata.name);
    check(route, merged, method, path, old);
    route.type.normalize?.(merged);
    return opts.store.update(route.type, merged, expected);
  }

  function remove(route: Route, body: unknown, q: URLSearchParams): unknown {
    const b = (body ?? {}) as DeleteOptions;
    const policy = (q.get('propagationPolicy') ?? b.propagationPolicy) as
      PropagationPolicy | undefined;
    const grace = q.get('gracePeriodSeconds') ?? b.gracePeriodSeconds;
    const options: DeleteOptions = {
      ...(policy ? { propagationPolicy: policy } : {}),
      ...(grace !== undefined && grace !== null ? { gracePeriodSeconds: Number(grace) } : {}),
    };
    get(route);
    const obj = opts.store.get(route.type, route.namespace ?? '', route.name ?? '')!;
    const result = opts.deleteObject(route.type, route.namespace ?? '', route.name ?? '', options);
    const pending =
      opts.store.get(route.type, route.namespace ?? '', route.name ?? '')?.metadata.uid ===
      obj.metadata.uid;
    if (route.type === PODS || pending) return result;
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: {
        name: route.name,
        ...(route.type.group ? { group: route.type.group } : {}),
        kind: route.type.plural,
        uid: obj.metadata.uid,
      },
    };
  }

  function pathOf(route: Route): string {
    const base = route.type.group ? `/apis/${apiVersionOf(route.type)}` : '/api/v1';
    return `${base}/namespaces/${route.namespace}/${route.type.plural}`;
  }

  return {
    server,
    requests,
    invalid: invalidRequests,
    failNext: (method, path, status, message) =>
      void failures.push({
        method: method.toUpperCase(),
        path,
        status,
        ...(message ? { message } : {}),
      }),
    cutWatches: (how = 'end') => {
      const open = [...watches];
      watches.clear();
      for (const w of open) w[how]();
      return open.length;
    },
  };
}
