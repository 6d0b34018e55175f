/**
 * Start stamps that agents write into a directory, one file per run named by its id, holding
 * `$EPOCHREALTIME` (see measure.ts for why that clock compares with ours). Watched with inotify
 * (fs.watch), so waiting for a stamp costs the machine nothing while Forge dispatches.
 */
import { watch } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Scope } from './scope.ts';

/** An agent that records the moment it starts and exits: bash, so no extra exec for the clock. */
export const STAMP_AGENT = [
  '/bin/bash',
  '-c',
  'echo "$EPOCHREALTIME" > "$STAMP_DIR/$FORGE_JOB_ID"',
];

export interface StampDir {
  dir: string;
  /** The stamp of run `name` in ms since the epoch, once its file is complete. */
  next(name: string, timeoutMs?: number): Promise<number>;
}

/** `base`: where to make it (default the temp dir). */
export async function stampDir(scope: Scope, base = tmpdir()): Promise<StampDir> {
  const dir = await mkdtemp(join(base, 'forge-bench-stamps-'));
  scope.defer(() => rm(dir, { recursive: true, force: true }));
  const seen = new Map<string, number>();
  const waiting = new Map<string, (stamp: number) => void>();
  const check = async (name: string) => {
    if (seen.has(name)) return;
    const text = await readFile(join(dir, name), 'utf8').catch(() => '');
    if (!text.endsWith('\n') || seen.has(name)) return;
    const stamp = Number(text.replace(',', '.')) * 1000;
    seen.set(name, stamp);
    waiting.get(name)?.(stamp);
  };
  const watcher = watch(dir, (_event, name) => {
    if (name) void check(name);
  });
  scope.defer(() => watcher.close());
  return {
    dir,
    async next(name, timeoutMs = 30_000) {
      await check(name);
      const known = seen.get(name);
      if (known !== undefined) return known;
      return new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(name);
          reject(
            new Error(`no start stamp from ${name} after ${timeoutMs} ms: did the agent run?`),
          );
        }, timeoutMs);
        waiting.set(name, (stamp) => {
          clearTimeout(timer);
          waiting.delete(name);
          resolve(stamp);
        });
      });
    },
  };
}
