// A job's live events (GET /jobs/{id}/events) read with fetch, since EventSource cannot send the
// Authorization header: the Server-Sent Events format parsed here, and a follower that resumes
// with Last-Event-ID after a dropped connection.
import { readError, request } from './api.js';

const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

/** Yields `{id, event, data}` for each event in a text/event-stream body. */
export async function* sseEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let event = { id: undefined, event: '', data: [] };
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      for (;;) {
        const end = buffer.search(/[\r\n]/);
        // A lone "\r" at the end may be the first half of "\r\n": wait for the next chunk.
        if (end === -1 || (buffer[end] === '\r' && end === buffer.length - 1)) break;
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + (buffer.startsWith('\r\n', end) ? 2 : 1));
        if (line === '') {
          if (event.data.length > 0) {
            yield { id: event.id, event: event.event || 'message', data: event.data.join('\n') };
          }
          event = { id: undefined, event: '', data: [] };
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'data') event.data.push(value);
        else if (field === 'event') event.event = value;
        else if (field === 'id' && !value.includes('\0')) event.id = value;
      }
    }
  } finally {
    reader.releaseLock();
  }
}

const sleep = (ms, signal) =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

/**
 * Follows a job's events until the job is over (a terminal status, then the end of the stream),
 * reconnecting with Last-Event-ID when the connection drops. `handlers`: onStatus({status,
 * attempt, failure?}), onOutput({attempt, line}), onState('connecting'|'live'|'retrying'|'ended',
 * error?). `start()` again after the job was retried continues from the last event.
 */
export function followJob(jobId, handlers) {
  let lastId = null;
  let controller = null;

  async function run(signal) {
    let delay = 250;
    while (!signal.aborted) {
      let terminal = false;
      try {
        handlers.onState?.('connecting');
        const headers = lastId ? { 'Last-Event-ID': lastId } : {};
        const res = await request('GET', `jobs/${encodeURIComponent(jobId)}/events`, {
          headers,
          signal,
        });
        if (!res.ok) throw await readError(res);
        handlers.onState?.('live');
        for await (const event of sseEvents(res.body)) {
          if (event.id !== undefined) lastId = event.id;
          delay = 250;
          const data = JSON.parse(event.data);
          if (event.event === 'status') {
            terminal = TERMINAL.has(data.status);
            handlers.onStatus?.(data);
          } else if (event.event === 'output') handlers.onOutput?.(data);
        }
        if (terminal) return handlers.onState?.('ended');
      } catch (err) {
        if (signal.aborted) return;
        // A missing job or a refused token will not get better by asking again.
        if (err.status === 404 || err.code === 'unauthorized' || err.status === 403) {
          return handlers.onState?.('failed', err);
        }
        handlers.onState?.('retrying', err);
      }
      await sleep(delay, signal);
      delay = Math.min(delay * 2, 10_000);
    }
  }

  return {
    start() {
      if (controller && !controller.signal.aborted) return;
      const current = new AbortController();
      controller = current;
      void run(current.signal).finally(() => current.abort());
    },
    stop() {
      controller?.abort();
    },
  };
}
