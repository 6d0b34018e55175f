/**
 * A warm worker's wait for its attempt (adapters/sandbox/remote/warm-assignments.ts): it asks
 * Forge, by its pod name and with the pool token, until Forge offers it an attempt token. Forge
 * unreachable or restarting is waited out with back-off: a warm pod may wait for hours.
 */
export interface WarmWaitOptions {
  url: string;
  poolToken: string;
  pod: string;
  log: (line: string) => void;
  signal: AbortSignal;
  /** Longest pause between tries when Forge cannot be reached (default 10 s). */
  maxBackoffMs?: number;
}

/** The attempt token offered to this pod; null when `signal` aborted first. Throws when Forge
 *  refuses the pool token or the pod (nothing waiting would change that). */
export async function waitForAssignment(opts: WarmWaitOptions): Promise<string | null> {
  const base = opts.url.replace(/\/+$/, '');
  let backoff = 250;
  let said = '';
  while (!opts.signal.aborted) {
    try {
      const res = await fetch(`${base}/worker/warm/v1/assignment?wait=20000`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${opts.poolToken}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ pod: opts.pod }),
        signal: opts.signal,
      });
      backoff = 250;
      if (res.status === 204) continue;
      const body = (await res.json().catch(() => ({}))) as { token?: string; error?: string };
      if (res.status === 200 && typeof body.token === 'string') return body.token;
      if (res.status === 401 || res.status === 403)
        throw new Error(`Forge at ${base} refused this warm pod: ${body.error ?? res.status}`);
      said = `Forge answered ${res.status}: ${body.error ?? ''}`;
    } catch (err) {
      if (opts.signal.aborted) return null;
      if (err instanceof Error && err.message.startsWith('Forge at ')) throw err;
      said = `cannot reach Forge at ${base} (${(err as Error).message}); retrying`;
    }
    opts.log(said);
    await new Promise((r) => setTimeout(r, backoff));
    backoff = Math.min(backoff * 2, opts.maxBackoffMs ?? 10_000);
  }
  return null;
}
