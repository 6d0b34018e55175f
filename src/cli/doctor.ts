import { accessSync, constants, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { DoctorCheck } from '../ports/doctor-check.ts';
import { readConfig } from './serve.ts';

/** Checks what a job needs before one is submitted: config, data dir, sandbox, agents. */
export async function doctorChecks(configPath: string | undefined): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  const [major, minor] = process.versions.node.split('.').map(Number);
  const nodeOk = (major ?? 0) > 22 || ((major ?? 0) === 22 && (minor ?? 0) >= 5);
  checks.push({
    name: 'node',
    ok: nodeOk,
    level: nodeOk ? 'ok' : 'error',
    detail: `Node ${process.versions.node}${nodeOk ? '' : ' — Forge needs Node 22.5 or later (node:sqlite); run through npm so the pinned Node is used'}`,
  });
  let loaded;
  try {
    loaded = readConfig(configPath, process.env);
    checks.push({
      name: 'config',
      ok: true,
      level: 'ok',
      detail: loaded.path ? `${loaded.path} is valid` : 'no forge.yaml; using defaults',
    });
  } catch (err) {
    checks.push({ name: 'config', ok: false, level: 'error', detail: (err as Error).message });
    return checks;
  }
  const { config } = loaded;
  const dataDir = resolve(config.data_dir);
  try {
    mkdirSync(dataDir, { recursive: true });
    accessSync(dataDir, constants.W_OK);
    checks.push({ name: 'data_dir', ok: true, level: 'ok', detail: `${dataDir} is writable` });
  } catch (err) {
    checks.push({
      name: 'data_dir',
      ok: false,
      level: 'error',
      detail: `${dataDir} is not writable: ${(err as Error).message}`,
    });
  }
  const { runtimeChecks } = await import('../main.ts');
  checks.push(...(await runtimeChecks(config, process.env)));
  return checks;
}
