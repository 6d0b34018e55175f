import { accessSync, constants, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { findExecutable } from '../core/find-executable.ts';
import type { DoctorCheck } from '../ports/sandbox.ts';
import { readConfig } from './serve.ts';

/** Checks what a job needs before one is submitted: config, data dir, sandbox, agents. */
export async function doctorChecks(configPath: string | undefined): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  const [major, minor] = process.versions.node.split('.').map(Number);
  const nodeOk = (major ?? 0) > 22 || ((major ?? 0) === 22 && (minor ?? 0) >= 5);
  checks.push({ name: 'node', ok: nodeOk, level: nodeOk ? 'ok' : 'error', detail: `Node ${process.versions.node}${nodeOk ? '' : ' — Forge needs Node 22.5 or later (node:sqlite); run through npm so the pinned Node is used'}` });
  let loaded;
  try {
    loaded = readConfig(configPath, process.env);
    checks.push({ name: 'config', ok: true, level: 'ok', detail: loaded.path ? `${loaded.path} is valid` : 'no forge.yaml; using defaults' });
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
    checks.push({ name: 'data_dir', ok: false, level: 'error', detail: `${dataDir} is not writable: ${(err as Error).message}` });
  }
  const { createSandbox } = await import('../main.ts');
  checks.push(...(await createSandbox(config).doctor()));
  const agents = Object.entries(config.agents);
  if (agents.length === 0) {
    checks.push({ name: 'agents', ok: false, level: 'warn', detail: 'no agents configured; add one under agents: in forge.yaml (see README)' });
  }
  for (const [name, agent] of agents) {
    const program = agent.command[0] ?? '';
    const found = findExecutable(program, process.env.PATH ?? '', process.cwd());
    checks.push({ name: `agent ${name}`, ok: !!found, level: found ? 'ok' : 'error', detail: found ? `${program} → ${found}` : `"${program}" not found on PATH; install it or fix agents.${name}.command` });
  }
  return checks;
}
