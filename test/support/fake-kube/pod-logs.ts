/**
 * GET pods/{name}/log as the apiserver answers it: 400 while the container has not started (with
 * the kubelet's "is waiting to start" wording), the whole log otherwise, and with follow=true a
 * stream that ends when the container does.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LogBuffer } from './log-buffer.ts';
import type { Pod } from './pod-types.ts';
import { badRequest } from './status.ts';

export function servePodLog(
  req: IncomingMessage,
  res: ServerResponse,
  pod: Pod,
  logs: Map<string, LogBuffer> | undefined,
  query: URLSearchParams,
): void {
  const names = pod.spec.containers.map((c) => c.name);
  const all = [...names, ...(pod.spec.initContainers ?? []).map((c) => c.name)];
  const container = query.get('container') || (names.length === 1 ? names[0] : undefined);
  if (!container) {
    throw badRequest(
      `a container name must be specified for pod ${pod.metadata.name}, choose one of: [${names.join(' ')}]`,
    );
  }
  if (!all.includes(container))
    throw badRequest(`container ${container} is not valid for pod ${pod.metadata.name}`);
  const statuses = [
    ...(pod.status?.initContainerStatuses ?? []),
    ...(pod.status?.containerStatuses ?? []),
  ];
  const state = statuses.find((s) => s.name === container)?.state;
  const buffer = logs?.get(container);
  if (!state || state.waiting || !buffer) {
    const reason = state?.waiting?.reason ?? 'ContainerCreating';
    const why = /ImagePull|ErrImage/.test(reason) ? 'trying and failing to pull image' : reason;
    throw badRequest(
      `container "${container}" in pod "${pod.metadata.name}" is waiting to start: ${why}`,
    );
  }
  const tail = Number(query.get('tailLines') ?? 'all');
  const initial = Number.isInteger(tail) && tail >= 0 ? lastLines(buffer.text, tail) : buffer.text;
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.write(initial);
  if (query.get('follow') !== 'true' || buffer.ended) {
    res.end();
    return;
  }
  res.flushHeaders();
  let sent = buffer.text.length;
  const unsubscribe = buffer.subscribe(() => {
    res.write(buffer.text.slice(sent));
    sent = buffer.text.length;
    if (buffer.ended) res.end();
  });
  res.on('close', unsubscribe);
  req.on('close', unsubscribe);
}

function lastLines(text: string, n: number): string {
  if (n === 0) return '';
  const lines = text.split(/(?<=\n)/);
  return lines.slice(-n).join('');
}
