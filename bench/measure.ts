/**
 * Clock and statistics shared by the benchmarks.
 *
 * The clock: `now()` is `performance.timeOrigin + performance.now()`, milliseconds since the epoch
 * with microsecond resolution: the wall clock read once at process start plus CLOCK_MONOTONIC
 * since. Agents stamp the same scale from their own process: bash's `$EPOCHREALTIME` (µs,
 * CLOCK_REALTIME) or Node's same expression. Linux keeps CLOCK_REALTIME as CLOCK_MONOTONIC plus an
 * offset that only a step of the wall clock changes (NTP slewing changes both rates alike), so
 * stamps from different processes compare to a few microseconds. `clockStepMs()` detects a step
 * during the run.
 */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

/** How far the wall clock moved against the monotonic one since this process started (ms);
 *  above ~1 ms, cross-process stamps in this run are suspect. */
export function clockStepMs(): number {
  return Date.now() - now();
}

/** Nearest-rank percentile (p in 0..100) of a non-empty sample. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) throw new Error('percentile of an empty sample');
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

export function median(values: number[]): number {
  return percentile(values, 50);
}

/** Rounds for the report: 2 decimals below 10, 1 below 1000, else whole. */
export function round(value: number): number {
  const abs = Math.abs(value);
  const digits = abs < 10 ? 2 : abs < 1000 ? 1 : 0;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Polls `check` every `everyMs` until it returns true; throws `what` after `timeoutMs`. */
export async function until(
  check: () => Promise<boolean>,
  what: string,
  everyMs = 50,
  timeoutMs = 120_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Runs `task(i)` for i in 0..count-1 with at most `parallel` in flight. */
export async function pool(
  count: number,
  parallel: number,
  task: (i: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
}
