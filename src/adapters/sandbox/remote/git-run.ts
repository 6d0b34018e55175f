/**
 * git for the workspace and result bundles, on both ends (Forge and the worker): no shell, git's
 * own environment (no user or system config, no prompts), and config that overrides whatever an
 * agent wrote into the repository's .git/config (no hooks, no fsmonitor), since both ends run git
 * in a directory the agent wrote.
 */
import { execFile } from 'node:child_process';

const SAFE_CONFIG: Record<string, string> = {
  'core.hooksPath': '/dev/null',
  'core.fsmonitor': 'false',
  'commit.gpgSign': 'false',
  'gc.auto': '0',
};

export interface GitOptions {
  cwd: string;
  /** PATH to find git on (default /usr/local/bin:/usr/bin:/bin). */
  path?: string;
  /** Extra environment for this command (GIT_INDEX_FILE, an identity). */
  env?: Record<string, string>;
  /** Deadline (default 5 minutes): an attempt's end waits for a result being applied. */
  timeoutMs?: number;
}

/** Runs git; resolves with its trimmed stdout, rejects with an Error holding git's last words. */
export function git(args: string[], opts: GitOptions): Promise<string> {
  const config = Object.entries(SAFE_CONFIG);
  const env: Record<string, string> = {
    PATH: opts.path ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: '/nonexistent',
    LANG: 'C',
    LC_ALL: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_COUNT: String(config.length),
    ...opts.env,
  };
  config.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = key;
    env[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      args,
      { cwd: opts.cwd, env, maxBuffer: 16 * 1024 * 1024, timeout: opts.timeoutMs ?? 300_000 },
      (err, stdout, stderr) => {
        if (!err) return resolve(stdout.trim());
        const said = stderr.trim().split('\n').slice(-5).join('\n') || err.message;
        reject(new Error(`git ${args[0]} failed: ${said}`));
      },
    );
  });
}
