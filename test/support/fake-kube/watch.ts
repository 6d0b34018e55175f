/**
 * Watch streams as the apiserver serves them: newline-delimited `{type, object}` events from the
 * requested resourceVersion (all current objects as ADDED when it is empty or "0"), an ERROR
 * event with a 410 Expired Status when that version has left the history, BOOKMARKs when asked,
 * and a clean end after timeoutSeconds. With a selector, an object that starts matching arrives
 * as ADDED and one that stops matching as DELETED.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Change, ObjectStore } from './object-store.ts';
import { apiVersionOf, type KubeObject, type ResourceType } from './resources.ts';
import type { Matcher } from './selectors.ts';
import { KubeError } from './status.ts';

export interface OpenWatch {
  /** Ends the response as the server does when a watch times out. */
  end(): void;
  /** Drops the connection as a network failure or apiserver crash would. */
  destroy(): void;
}

export interface WatchRequest {
  store: ObjectStore;
  type: ResourceType;
  namespace: string | undefined;
  matches: Matcher;
  resourceVersion: string;
  timeoutSeconds: number | undefined;
  bookmarks: boolean;
  bookmarkIntervalMs: number;
}

export function serveWatch(
  req: IncomingMessage,
  res: ServerResponse,
  w: WatchRequest,
  open: Set<OpenWatch>,
): void {
  const inScope = (o: KubeObject): boolean =>
    w.namespace === undefined || o.metadata.namespace === w.namespace;
  const send = (type: string, object: unknown): void => {
    res.write(`${JSON.stringify({ type, object })}\n`);
  };
  const forward = (c: Change): void => {
    if (c.resource !== w.type || !inScope(c.object)) return;
    const now = w.matches(c.object);
    const before = c.previous ? w.matches(c.previous) : false;
    if (c.type === 'ADDED' && now) send('ADDED', c.object);
    if (c.type === 'DELETED' && now) send('DELETED', c.object);
    if (c.type === 'MODIFIED') {
      if (now) send(before ? 'MODIFIED' : 'ADDED', c.object);
      else if (before) send('DELETED', c.object);
    }
  };

  res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
  res.flushHeaders();
  const rv = w.resourceVersion;
  if (rv === '' || rv === '0') {
    const items =
      w.namespace === undefined ? w.store.list(w.type) : w.store.list(w.type, w.namespace);
    for (const obj of items) if (w.matches(obj)) send('ADDED', obj);
  } else {
    let replay: Change[];
    try {
      replay = w.store.changesSince(Number(rv));
    } catch (err) {
      if (!(err instanceof KubeError)) throw err;
      send('ERROR', err.toStatus());
      res.end();
      return;
    }
    replay.forEach(forward);
  }

  const timers: NodeJS.Timeout[] = [];
  const unsubscribe = w.store.onChange(forward);
  const handle: OpenWatch = {
    end: () => res.end(),
    destroy: () => res.destroy(),
  };
  open.add(handle);
  const cleanup = (): void => {
    unsubscribe();
    timers.forEach(clearTimeout);
    open.delete(handle);
  };
  res.on('close', cleanup);
  req.on('close', cleanup);
  if (w.bookmarks) {
    const bookmark = { kind: w.type.kind, apiVersion: apiVersionOf(w.type) };
    timers.push(
      setInterval(
        () =>
          send('BOOKMARK', { ...bookmark, metadata: { resourceVersion: w.store.resourceVersion } }),
        w.bookmarkIntervalMs,
      ),
    );
  }
  if (w.timeoutSeconds !== undefined && w.timeoutSeconds > 0) {
    timers.push(setTimeout(() => res.end(), w.timeoutSeconds * 1000));
  }
}
