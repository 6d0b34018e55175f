// What `start` checks in a spec before it runs anything, so that a mistake is reported as what it
// is rather than as an agent that exited 127 or printed a shell's complaint.
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { ForgeError } from '../../domain/errors.ts';
import { findExecutable } from '../../lib/find-executable.ts';
import type { SandboxSpec } from '../../ports/sandbox.ts';

/** Rejects with ForgeError('unavailable') unless `path` is a directory. */
export async function requireDirectory(path: string, what: string): Promise<void> {
  const info = await stat(path).catch(() => null);
  if (!info?.isDirectory()) {
    throw new ForgeError(
      'unavailable',
      `${what} ${path} does not exist or is not a directory; it must be created before the agent starts`,
    );
  }
}

/** Rejects with ForgeError('not_found') unless argv[0] is an executable file on the spec's own
 *  PATH (against `cwd` when it holds a slash). The server's PATH plays no part: the agent runs
 *  with `spec.env`, and a pod's PATH is not the server's either. */
export function requireProgram(spec: SandboxSpec): void {
  const program = spec.command[0] ?? '';
  const path = spec.env.PATH ?? '';
  if (program !== '' && findExecutable(program, path, spec.cwd)) return;
  const message = program.includes('/')
    ? `agent program "${program}" is not an executable file (relative to the workspace ${spec.cwd})`
    : `agent program "${program}" was not found on the sandbox's PATH (${path})`;
  throw new ForgeError('not_found', message);
}

/** Rejects with ForgeError('unavailable') unless `stdinFile`, when given, is a readable file. */
export async function requireStdinFile(stdinFile: string | null | undefined): Promise<void> {
  if (!stdinFile) return;
  const info = await stat(stdinFile).catch(() => null);
  const readable = await access(stdinFile, constants.R_OK).then(
    () => true,
    () => false,
  );
  if (!info?.isFile() || !readable) {
    throw new ForgeError(
      'unavailable',
      `the agent's standard input ${stdinFile} is not a readable file; it must be written before the agent starts`,
    );
  }
}
