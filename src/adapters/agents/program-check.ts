import { execFile } from 'node:child_process';
import { findExecutable } from '../../lib/find-executable.ts';
import type { DoctorCheck } from '../../ports/doctor-check.ts';

/**
 * The doctor lines every agent shares: is its program on PATH, which version does it report, and
 * which of the credential variables it may use are set (names only — never values).
 */
export async function checkProgram(opts: {
  agent: string;
  command: string[];
  versionArgs: string[] | null;
  credentials: Record<string, string>;
  /** Variables of which at least one must be set for the agent to reach its model. */
  anyOf: string[];
  installHint: string;
  pathEnv: string;
}): Promise<DoctorCheck[]> {
  const program = opts.command[0] ?? '';
  const found = findExecutable(program, opts.pathEnv, process.cwd());
  if (!found) {
    return [
      {
        name: `agent ${opts.agent}`,
        ok: false,
        level: 'error',
        detail: `"${program}" not found on PATH; ${opts.installHint}`,
      },
    ];
  }
  let version = '';
  if (opts.versionArgs) {
    version = await new Promise<string>((resolve) => {
      execFile(
        found,
        [...opts.command.slice(1), ...opts.versionArgs!],
        { timeout: 10_000, env: { PATH: opts.pathEnv } },
        (err, stdout) =>
          resolve(
            err
              ? `(version unknown: ${err.message.split('\n')[0]})`
              : (stdout.trim().split('\n')[0] ?? ''),
          ),
      );
    });
  }
  const checks: DoctorCheck[] = [
    {
      name: `agent ${opts.agent}`,
      ok: true,
      level: 'ok',
      detail: `${found}${version ? ` ${version}` : ''}`,
    },
  ];
  if (opts.anyOf.length) {
    const present = Object.keys(opts.credentials).filter((k) => opts.credentials[k] !== '');
    const usable = opts.anyOf.filter((k) => present.includes(k));
    checks.push({
      name: `agent ${opts.agent} credentials`,
      ok: usable.length > 0,
      level: usable.length > 0 ? 'ok' : 'warn',
      detail:
        usable.length > 0
          ? `set: ${present.join(', ')}`
          : `none of ${opts.anyOf.join(', ')} is set in the server's environment; jobs will fail with "auth"`,
    });
  }
  return checks;
}
