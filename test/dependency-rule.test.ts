// The dependency rule: domain ← ports ← core ← adapters / front doors ← main. `lib/` holds small
// Node utilities that know nothing of Forge and may be used anywhere.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '..', 'src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory()
      ? files(path)
      : path.endsWith('.ts') && !path.endsWith('.test.ts')
        ? [path]
        : [];
  });
}

function layer(path: string): string {
  return relative(SRC, path).split('/')[0]!.replace(/\.ts$/, '');
}

/** What each layer may import from (besides itself and packages). */
const ALLOWED: Record<string, string[]> = {
  domain: [],
  lib: [],
  ports: ['domain'],
  // A job's settings are frozen into it at submit, so nothing that runs it reads the config.
  core: ['domain', 'ports', 'lib'],
  adapters: ['domain', 'ports', 'lib'],
  // app.ts mounts every route, /mcp too.
  http: ['domain', 'ports', 'core', 'intake', 'mcp', 'config', 'stewards', 'lib'],
  intake: ['domain', 'ports', 'core', 'lib'],
  // Stewards decide when their runs start from their configuration; the runs are ordinary jobs.
  stewards: ['domain', 'ports', 'core', 'config', 'intake', 'lib'],
  sinks: ['domain', 'ports', 'core', 'intake', 'lib'],
  // MCP is a front door served by the HTTP app, with its deps and its token rules.
  mcp: ['domain', 'ports', 'core', 'http', 'config', 'stewards', 'lib'],
  cli: ['domain', 'ports', 'core', 'config', 'main', 'mcp', 'worker', 'lib'],
  // `forge worker`, which runs an attempt in a pod: it speaks the remote sandbox's protocol and
  // nothing of the server.
  worker: ['domain', 'ports', 'adapters', 'lib'],
  // secrets.ts holds the rule for which configured values are secrets.
  config: ['domain', 'secrets', 'config-stewards'],
};

describe('dependency rule', () => {
  it('no layer imports from a layer it must not know', () => {
    const violations: string[] = [];
    for (const file of files(SRC)) {
      const from = layer(file);
      const allowed = ALLOWED[from];
      if (!allowed) continue; // main.ts and the data-dir lock sit at the root and may import anything
      // Static imports and dynamic ones (the CLI loads some commands on demand).
      for (const match of readFileSync(file, 'utf8').matchAll(/(?:from |import\()'(\.[^']+)'/g)) {
        const to = layer(resolve(dirname(file), match[1]!));
        if (to !== from && !allowed.includes(to))
          violations.push(`${relative(SRC, file)} imports ${to}`);
      }
    }
    expect(violations).toEqual([]);
  });
});
