/**
 * The Kubernetes API as the launcher uses it: clients made from a kubeconfig, and the API's errors
 * read as a status code and the API server's own words.
 */
import {
  AuthorizationV1Api,
  BatchV1Api,
  CoreV1Api,
  KubeConfig,
  VersionApi,
} from '@kubernetes/client-node';
import { ForgeError } from '../../../domain/errors.ts';

export interface KubeClients {
  config: KubeConfig;
  core: CoreV1Api;
  batch: BatchV1Api;
  authorization: AuthorizationV1Api;
  version: VersionApi;
  /** The API server's URL, for messages. */
  server: string;
}

export interface KubeClientOptions {
  /** A kubeconfig file; without it KUBECONFIG, ~/.kube/config, then the in-cluster service
   *  account (client-node's loadFromDefault). */
  kubeconfig?: string | undefined;
  /** A context of that kubeconfig other than its current one. */
  context?: string | undefined;
}

/** Throws ForgeError('config') when the kubeconfig cannot be read or lacks the context. */
export function createKubeClients(opts: KubeClientOptions): KubeClients {
  const config = new KubeConfig();
  try {
    if (opts.kubeconfig) config.loadFromFile(opts.kubeconfig);
    else config.loadFromDefault();
  } catch (err) {
    throw new ForgeError(
      'config',
      `cannot read the kubeconfig ${opts.kubeconfig ?? '(KUBECONFIG, ~/.kube/config or in-cluster)'}: ${(err as Error).message}; fix sandbox.kubeconfig`,
      { cause: err },
    );
  }
  if (opts.context) {
    if (!config.getContextObject(opts.context))
      throw new ForgeError(
        'config',
        `the kubeconfig has no context "${opts.context}" (it has: ${config.contexts.map((c) => c.name).join(', ') || 'none'}); fix sandbox.context`,
      );
    config.setCurrentContext(opts.context);
  }
  return fromKubeConfig(config);
}

export function fromKubeConfig(config: KubeConfig): KubeClients {
  return {
    config,
    core: config.makeApiClient(CoreV1Api),
    batch: config.makeApiClient(BatchV1Api),
    authorization: config.makeApiClient(AuthorizationV1Api),
    version: config.makeApiClient(VersionApi),
    server: config.getCurrentCluster()?.server ?? '(no cluster in the kubeconfig)',
  };
}

/** The HTTP status of an API error (ApiException's `code`, a watch error's `statusCode`). */
export function statusOf(err: unknown): number | undefined {
  if (!err || typeof err !== 'object') return undefined;
  const { code, statusCode } = err as { code?: unknown; statusCode?: unknown };
  if (typeof code === 'number') return code;
  if (typeof statusCode === 'number') return statusCode;
  return undefined;
}

/** The API server's message (a Status object's `message`), or the network error; one line. */
export function apiMessage(err: unknown): string {
  const status = statusOf(err);
  const body = (err as { body?: unknown } | null)?.body;
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as { message?: unknown };
      if (typeof parsed.message === 'string') return `${status ?? ''} ${parsed.message}`.trim();
    } catch {
      // not JSON: fall through to the status alone
    }
  }
  if (status !== undefined) return `HTTP ${status}`;
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  const causeText = typeof cause?.code === 'string' ? cause.code : cause?.message;
  const message = err instanceof Error ? err.message : String(err);
  return typeof causeText === 'string' ? `${message} (${causeText})` : message;
}
