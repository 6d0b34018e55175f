/** wait_for_job: waits on the event bus for a job to end, reporting output lines as progress. */
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import { getJob } from '../core/job-actions.ts';
import { isTerminal, type JobRecord } from '../domain/job.ts';
import { jobSummary } from '../http/serialize.ts';
import type { McpDeps } from './mcp-server.ts';

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** The store is read again at least this often, in case a status event was published by another
 *  process than this one. */
const RECHECK_MS = 5_000;
/** Longest output line sent as a progress message. */
const MAX_PROGRESS_CHARS = 1_000;

/** Reports lines as `notifications/progress` when the request asked for progress. */
function progressReporter(extra: Extra): (line: string) => void {
  const token = extra._meta?.progressToken;
  if (token === undefined) return () => {};
  let progress = 0;
  return (line) => {
    progress += 1;
    extra
      .sendNotification({
        method: 'notifications/progress',
        params: { progressToken: token, progress, message: line.slice(0, MAX_PROGRESS_CHARS) },
      })
      .catch(() => {}); // the client left; the wait ends with the request's signal
  };
}

function lastLine(record: JobRecord): string | undefined {
  const output = record.attempts.at(-1)?.output.trimEnd();
  return output ? output.slice(output.lastIndexOf('\n') + 1) : undefined;
}

/** Returns the job once it is terminal, or when `timeoutMs` passes, with `done` saying which. */
export async function waitForJob(
  deps: McpDeps,
  id: string,
  timeoutMs: number,
  extra: Extra,
): Promise<Record<string, unknown>> {
  const report = progressReporter(extra);
  let wake: () => void = () => {};
  const unsubscribe = deps.bus.subscribe((event) => {
    if (event.jobId !== id) return;
    if (event.type === 'attempt.output') report(event.text.slice(event.text.lastIndexOf('\n') + 1));
    if (event.type === 'job.status') wake();
  });
  const deadline = Date.now() + timeoutMs;
  try {
    let record = await getJob(deps, id);
    const line = lastLine(record);
    if (line !== undefined && !isTerminal(record.status)) report(line);
    while (!isTerminal(record.status) && Date.now() < deadline && !extra.signal.aborted) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          extra.signal.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, Math.min(RECHECK_MS, deadline - Date.now()));
        wake = done;
        extra.signal.addEventListener('abort', done, { once: true });
      });
      record = await getJob(deps, id);
    }
    const done = isTerminal(record.status);
    return {
      done,
      ...(done ? {} : { waited_seconds: Math.round(timeoutMs / 1000) }),
      ...jobSummary(record),
    };
  } finally {
    unsubscribe();
  }
}
