/**
 * The attempt in the worker's directory: the directories and files Forge prepared (agent config,
 * home, prompt) at the same places relative to the attempt directory, and the agent's
 * environment — Forge's, with its paths mapped to this directory, plus the variables the spec
 * names from the worker's own environment (model credentials from the profile's Secret, PATH).
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { mapEnv } from '../adapters/sandbox/remote/path-map.ts';
import type { AttemptSpec } from '../adapters/sandbox/remote/protocol.ts';

/** The spec's directories and files under `dir`. */
export async function layOut(spec: AttemptSpec, dir: string): Promise<void> {
  for (const d of spec.dirs) {
    await mkdir(join(dir, d.path), { recursive: true });
    await chmod(join(dir, d.path), d.mode);
  }
  await mkdir(join(dir, spec.tmp_dir), { recursive: true });
  for (const f of spec.files) {
    // A file may sit in the workspace (a steward's notes), made only when the checkout arrives.
    await mkdir(dirname(join(dir, f.path)), { recursive: true });
    await writeFile(join(dir, f.path), Buffer.from(f.content_base64, 'base64'), { mode: f.mode });
  }
  if (spec.stdin_base64 !== null)
    await writeFile(join(dir, '.forge-worker', 'stdin'), Buffer.from(spec.stdin_base64, 'base64'));
}

/** The agent's environment: the spec's (paths mapped), and the variables it names from ours. */
export function agentEnv(
  spec: AttemptSpec,
  dir: string,
  own: Record<string, string | undefined>,
): Record<string, string> {
  const env = mapEnv(spec.env, spec.root, dir);
  for (const name of spec.inherit_env) {
    const value = own[name];
    if (value !== undefined) env[name] = value;
  }
  env.TMPDIR = join(dir, spec.tmp_dir);
  env.FORGE_JOB_ID = spec.job_id;
  env.FORGE_ATTEMPT = String(spec.attempt);
  return env;
}
