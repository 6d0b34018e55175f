// Isolation through @anthropic-ai/sandbox-runtime (srt): bubblewrap for the filesystem, a proxy
// with a domain allowlist for the network. srt's SandboxManager is a process-wide singleton whose
// proxy enforces one allowlist for everything it wrapped, so each run gets its own manager in its
// own small process (srt-launcher.ts); its proxies end with that process, so nothing needs closing.
import { accessSync, constants } from 'node:fs';
import { isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SandboxRuntimeConfig } from '@anthropic-ai/sandbox-runtime';
import { ForgeError } from '../../domain/errors.ts';
import type { SandboxSpec } from '../../ports/sandbox.ts';

/** The host programs srt runs. Looked up in the system directories apt installs into, not on the
 *  server's PATH: the composition root is the only reader of the environment. */
export interface SrtTools {
  bwrap: string;
  socat: string;
  rg: string;
}

/** What the launcher reads from its stdin: everything secret (the agent's environment) travels
 *  here rather than on a command line, which any user on the host can read. */
export interface LaunchRequest {
  config: SandboxRuntimeConfig;
  /** Shell command run inside the sandbox. */
  command: string;
  env: Record<string, string>;
  /** Becomes the command's standard input; null: none. */
  stdinFile: string | null;
}

export const LAUNCHER_PATH = fileURLToPath(new URL('./srt-launcher.ts', import.meta.url));

const SYSTEM_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
const TOOL_PACKAGES: Record<keyof SrtTools, string> = {
  bwrap: 'bubblewrap',
  socat: 'socat',
  rg: 'ripgrep',
};
const INSTALL_HINT = 'apt-get install bubblewrap socat ripgrep';

function findProgram(name: string): string | null {
  for (const dir of SYSTEM_DIRS) {
    const candidate = `${dir}/${name}`;
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return null;
}

/** The tools, or the names of the packages that are missing. */
export function findSrtTools(): { ok: true; tools: SrtTools } | { ok: false; missing: string[] } {
  const found: Partial<SrtTools> = {};
  const missing: string[] = [];
  for (const name of Object.keys(TOOL_PACKAGES) as (keyof SrtTools)[]) {
    const path = findProgram(name);
    if (path) found[name] = path;
    else missing.push(TOOL_PACKAGES[name]);
  }
  if (missing.length > 0) return { ok: false, missing };
  return { ok: true, tools: found as SrtTools };
}

export function unisolatedNotice(reason: string): string {
  return `warning: running unisolated: ${reason} — the agent can read and write anything this user can`;
}

export function missingToolsReason(missing: string[]): string {
  return `${missing.join(', ')} not found (${INSTALL_HINT})`;
}

/** The per-run policy: writes only in the workspace and its temp dir, no reads of `denyRead`,
 *  network only to `allowedDomains` (none when empty). */
export function srtConfig(spec: SandboxSpec, tools: SrtTools): SandboxRuntimeConfig {
  const relative = spec.denyRead.filter((path) => !isAbsolute(path));
  if (relative.length > 0) {
    // srt would resolve these against the workspace (and `~` nowhere), silently protecting nothing.
    throw new ForgeError(
      'unavailable',
      `sandbox denyRead entries must be absolute paths, got: ${relative.join(', ')}`,
    );
  }
  return {
    network: { allowedDomains: [...spec.allowedDomains], deniedDomains: [] },
    filesystem: {
      denyRead: [...spec.denyRead],
      allowWrite: [spec.cwd, spec.tmpDir, ...spec.writable],
      denyWrite: [],
    },
    bwrapPath: tools.bwrap,
    socatPath: tools.socat,
    ripgrep: { command: tools.rg },
  };
}

/** POSIX single-quoting: the result is one word whatever `word` holds. */
function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

// srt starts its in-sandbox proxy bridges (socat on ports 3128 and 1080) in the background and
// runs the command at once, so a command that connects straight away can find nothing listening
// yet. Wait until both accept, at most 2 s. srt runs the command with bash, whose /dev/tcp this is.
const WAIT_FOR_PROXY =
  'for _ in {1..200}; do (: </dev/tcp/127.0.0.1/3128 && : </dev/tcp/127.0.0.1/1080) 2>/dev/null && break; sleep 0.01; done';

/** The shell command srt runs. srt points TMPDIR at /tmp/claude, one directory for every
 *  sandbox; the attempt gets its private one back just before the agent starts. */
export function srtCommand(spec: SandboxSpec): string {
  const argv = spec.command.map(shellQuote).join(' ');
  return `${WAIT_FOR_PROXY}; export TMPDIR=${shellQuote(spec.tmpDir)}; exec ${argv}`;
}
