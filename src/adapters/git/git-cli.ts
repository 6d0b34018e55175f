// Runs git for the orchestrator: no shell, a minimal environment of Forge's own (so neither the
// user's ~/.gitconfig nor their credential helpers take part), a deadline, and credentials that
// exist only in the environment of the one command that needs them.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { ForgeError, type ErrorCode } from '../../domain/errors.ts';
import { findExecutable } from '../../lib/find-executable.ts';
import type { GitCredentials } from '../../ports/git-host.ts';

export interface GitCliOptions {
  /** Forge-private HOME: git reads its global config from here. Created when missing. */
  homeDir: string;
  /** PATH for finding git and its helpers (git-remote-https, ssh…). */
  pathEnv?: string;
  /** Deadline of a command that does not set its own. */
  timeoutMs?: number;
}

export interface GitRun {
  cwd: string;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Sent as HTTP basic auth to `url`'s origin by this one command, through its environment. */
  auth?: { url: string; credentials: GitCredentials | null } | undefined;
  /** Config for this command; it overrides the repository's own (which an agent may have written). */
  config?: Record<string, string>;
  stdin?: string;
  /** Exit codes that are answers rather than failures (1 for `diff --quiet`). */
  okCodes?: number[];
  /** Keep only about this many bytes of stdout (cut at a whole line), stop git once it printed
   *  them, and report `truncated`: for callers that need only the start of a long output.
   *  Without it, a command printing more than MAX_STDOUT_BYTES fails. */
  keepStdout?: number;
}

export interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Set when `keepStdout` cut the output. */
  truncated?: boolean;
}

/** The most stdout Forge holds for one git command that needs all of it: a repository's output
 *  (a huge diff, a hundred thousand untracked files) must not cost unbounded memory. */
export const MAX_STDOUT_BYTES = 2 * 1024 * 1024;
/** The most stderr kept; only its end goes into messages. */
const MAX_STDERR_BYTES = 256 * 1024;

/** Runs `git <args>`; rejects with ForgeError whose message holds git's (scrubbed) stderr. */
export type Git = (args: string[], run: GitRun) => Promise<GitResult>;

const DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin';
const KILL_GRACE_MS = 2_000;
const MAX_STDERR_IN_MESSAGE = 2_000;

// What git says when the server is out of reach or failing: worth retrying.
const UNAVAILABLE = [
  /could not resolve host/i,
  /failed to connect/i,
  /connection (refused|reset|timed out)/i,
  /operation timed out/i,
  /returned error: 5\d\d/i,
  /RPC failed/i,
  /early EOF/i,
  /unexpected disconnect/i,
  /SSL_ERROR|SSL_connect|gnutls_handshake/,
  /the remote end hung up/i,
];
// What a retry will not fix: credentials, a missing repository.
const INVALID = [
  /authentication failed/i,
  /could not read (username|password)/i,
  /returned error: 40[134]/i,
  /repository (.* )?not found/i,
  /does not appear to be a git repository/i,
];

export function createGitCli(opts: GitCliOptions): Git {
  const pathEnv = opts.pathEnv ?? DEFAULT_PATH;
  let gitPath: string | null = null;
  let homeReady = false;

  return async (args, run) => {
    gitPath ??= findExecutable('git', pathEnv, process.cwd());
    if (!gitPath)
      throw new ForgeError(
        'config',
        `git not found on PATH (${pathEnv}); install git 2.39 or newer`,
      );
    if (!homeReady) {
      mkdirSync(opts.homeDir, { recursive: true, mode: 0o700 });
      homeReady = true;
    }
    const secrets = secretsOf(run.auth?.credentials ?? null);
    const env = gitEnv(pathEnv, opts.homeDir, run);
    const timeoutMs = run.timeoutMs ?? opts.timeoutMs ?? 10 * 60_000;
    const result = await execute(gitPath, args, run, env, timeoutMs);
    const what = `git ${args[0] ?? ''}`;
    if (result.stopped === 'overflow') {
      throw new ForgeError(
        'internal',
        `${what} printed more than ${MAX_STDOUT_BYTES / 1024 / 1024} MiB, more than Forge holds for one command; the repository may hold something unusual (a huge generated file, a vast number of untracked files)`,
      );
    }
    if (result.truncated) {
      return { code: 0, stdout: scrub(result.stdout, secrets), stderr: '', truncated: true };
    }
    if (result.stopped) {
      throw new ForgeError(
        'unavailable',
        result.stopped === 'timeout'
          ? `${what} did not finish within ${Math.round(timeoutMs / 1000)}s; check that the git server is reachable`
          : `${what} was stopped before it finished`,
      );
    }
    const stderr = scrub(result.stderr, secrets);
    if (result.code !== 0 && !(run.okCodes ?? []).includes(result.code)) {
      const said = tail(stderr) || `exit code ${result.code}`;
      throw new ForgeError(classify(stderr), `${what} failed: ${said}`);
    }
    return {
      code: result.code,
      stdout: scrub(result.stdout, secrets),
      stderr,
      ...(run.keepStdout !== undefined ? { truncated: false } : {}),
    };
  };
}

function gitEnv(pathEnv: string, home: string, run: GitRun): Record<string, string> {
  const env: Record<string, string> = {
    PATH: pathEnv,
    HOME: home,
    LANG: 'C',
    LC_ALL: 'C', // git's messages in English, so they can be recognised (and read in logs)
    GIT_TERMINAL_PROMPT: '0', // a missing credential fails instead of waiting for a terminal
  };
  const config = { ...run.config };
  const auth = run.auth;
  if (auth?.credentials) {
    const origin = originOf(auth.url);
    // Scoped to the origin so a redirect elsewhere does not carry the header along.
    if (origin)
      config[`http.${origin}/.extraHeader`] = `Authorization: Basic ${basic(auth.credentials)}`;
  }
  const entries = Object.entries(config);
  env.GIT_CONFIG_COUNT = String(entries.length);
  entries.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = key;
    env[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  return env;
}

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
  stopped: 'timeout' | 'aborted' | 'overflow' | 'enough' | null;
  truncated: boolean;
}

/** Keeps the last `limit` bytes of a stream (git's verdict comes last), from a whole line on
 *  once anything was dropped, so a half-cut line (and a half-cut credential in it) never shows. */
function lastBytes(limit: number) {
  let chunks: Buffer[] = [];
  let size = 0;
  let dropped = false;
  return {
    push(chunk: Buffer): void {
      chunks.push(chunk);
      size += chunk.length;
      if (size > 2 * limit) {
        const all = Buffer.concat(chunks);
        chunks = [all.subarray(all.length - limit)];
        size = limit;
        dropped = true;
      }
    },
    bytes(): Buffer {
      let all = Buffer.concat(chunks);
      if (all.length > limit) {
        all = all.subarray(all.length - limit);
        dropped = true;
      }
      return dropped ? all.subarray(all.indexOf(10) + 1) : all;
    },
  };
}

/** Collects a stream up to `limit` bytes; `full()` tells when more arrived. */
function bounded(limit: number) {
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  return {
    push(chunk: Buffer): void {
      if (size >= limit) {
        over = true;
        return;
      }
      const room = limit - size;
      if (chunk.length > room) over = true;
      const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
      chunks.push(kept);
      size += kept.length;
    },
    full: () => over,
    bytes: () => Buffer.concat(chunks),
  };
}

function execute(
  gitPath: string,
  args: string[],
  run: GitRun,
  env: Record<string, string>,
  timeoutMs: number,
): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(gitPath, args, {
      cwd: run.cwd,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    const keep = run.keepStdout;
    const stdout = bounded(keep ?? MAX_STDOUT_BYTES);
    const stderr = lastBytes(MAX_STDERR_BYTES);
    child.stdout.on('data', (c: Buffer) => {
      stdout.push(c);
      if (stdout.full()) stop(keep === undefined ? 'overflow' : 'enough');
    });
    child.stderr.on('data', (c: Buffer) => stderr.push(c));
    child.stdin.on('error', () => {}); // git may exit before reading its input; its exit code says why
    child.stdin.end(run.stdin ?? '');
    let stopped: Outcome['stopped'] = null;
    let escalation: NodeJS.Timeout | undefined;
    // SIGTERM first: git removes its lock files on it, so an interrupted fetch does not wedge the mirror.
    const stop = (why: NonNullable<Outcome['stopped']>) => {
      if (stopped || child.pid === undefined) return;
      stopped = why;
      signalGroup(child.pid, 'SIGTERM');
      escalation = setTimeout(() => signalGroup(child.pid!, 'SIGKILL'), KILL_GRACE_MS);
    };
    const timer = setTimeout(() => stop('timeout'), timeoutMs);
    const onAbort = () => stop('aborted');
    if (run.signal?.aborted) onAbort();
    else run.signal?.addEventListener('abort', onAbort, { once: true });
    child.once('error', (err) => {
      clearTimeout(timer);
      run.signal?.removeEventListener('abort', onAbort);
      reject(new ForgeError('unavailable', `could not start git (${err.message})`, { cause: err }));
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      clearTimeout(escalation);
      run.signal?.removeEventListener('abort', onAbort);
      const truncated = stopped === 'enough';
      let out = stdout.bytes();
      // A cut output ends on a whole line, so callers never see half an entry.
      if (truncated) out = out.subarray(0, out.lastIndexOf(10) + 1);
      resolve({
        code: code ?? -1,
        stdout: out.toString(),
        stderr: stderr.bytes().toString(),
        stopped: truncated ? null : stopped,
        truncated,
      });
    });
  });
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal); // git's helpers (remote-https, index-pack) too
  } catch {
    // already gone
  }
}

function classify(stderr: string): ErrorCode {
  if (INVALID.some((re) => re.test(stderr))) return 'invalid_request';
  if (UNAVAILABLE.some((re) => re.test(stderr))) return 'unavailable';
  return 'internal';
}

function basic(c: GitCredentials): string {
  return Buffer.from(`${c.username}:${c.password}`).toString('base64');
}

function secretsOf(c: GitCredentials | null): string[] {
  if (!c || c.password === '') return [];
  return [basic(c), c.password, encodeURIComponent(c.password)];
}

/** `scheme://host[:port]` of an http(s) URL, or null for anything else (local paths). */
export function originOf(url: string): string | null {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.origin : null;
  } catch {
    return null;
  }
}

/** Removes credentials from text git printed: the known secrets, and any user:password in a URL. */
export function scrub(text: string, secrets: string[]): string {
  let out = text;
  for (const s of secrets) if (s) out = out.split(s).join('***');
  return out
    .replace(/(Authorization:\s*\S+\s+)\S+/gi, '$1***')
    .replace(/(\/\/[^/\s:@]+):[^@/\s]+@/g, '$1:***@');
}

function tail(stderr: string): string {
  const text = stderr
    .trim()
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(-12)
    .join('\n');
  return text.length > MAX_STDERR_IN_MESSAGE ? `…${text.slice(-MAX_STDERR_IN_MESSAGE)}` : text;
}
