#!/usr/bin/env node
// Forge needs Node >= 22.18 (node:sqlite, TypeScript type stripping). The project pins Node 24 as a
// devDependency; when an older system Node runs this file, re-run it on the pinned one.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const pinned = join(root, 'node_modules', 'node', 'bin', 'node');
  if (!existsSync(pinned)) {
    process.stderr.write(
      `forge: Node ${process.versions.node} is too old (need 22.18+); run "npm ci" to install the pinned Node\n`,
    );
    process.exit(6);
  }
  const child = spawn(pinned, process.argv.slice(1), { stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'])
    process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 + 15 : 1)));
} else {
  // node:sqlite and type stripping announce themselves as experimental; that is noise for users.
  const emit = process.emitWarning;
  process.emitWarning = (warning, ...rest) => {
    const type = typeof rest[0] === 'string' ? rest[0] : rest[0]?.type;
    if (type === 'ExperimentalWarning') return;
    emit.call(process, warning, ...rest);
  };
  const { main } = await import('../src/cli/main.ts');
  await main(process.argv);
}
