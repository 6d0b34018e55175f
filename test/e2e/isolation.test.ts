/**
 * The default deployment isolates agents with sandbox-runtime (bubblewrap). Through the real
 * `forge serve`: the agent works in its workspace and private home, but cannot read Forge's
 * database or config, write outside its areas, or reach a server on the host.
 */
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startForge, stopAllForges, type ForgeProcess } from '../support/forge-server.ts';

let forge: ForgeProcess;
let host: Server;
let hostUrl = '';
let hits = 0;

beforeAll(async () => {
  host = createServer((_req, res) => {
    hits++;
    res.end('reached');
  });
  await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve));
  hostUrl = `http://127.0.0.1:${(host.address() as AddressInfo).port}/`;
  forge = await startForge({
    config: {
      sandbox: { isolation: 'srt' },
      agents: { sh: { kind: 'command', command: ['/bin/sh', '-c', '{prompt}'] } },
      defaults: { agent: 'sh', max_retries: 0, inactivity_timeout: '30s', max_duration: '1m' },
    },
  });
});
afterAll(async () => {
  await stopAllForges();
  await new Promise((resolve) => host.close(resolve));
});

/** A command that prints REACHED-HOST when it can fetch from the test's host server. */
const reachScript = (): string =>
  `${process.execPath} -e "fetch('${hostUrl}').then(r => r.text()).then(t => console.log(t === 'reached' ? 'REACHED-HOST' : 'host-denied'), () => console.log('host-denied'))"`;

describe('jobs under srt isolation', () => {
  it("runs the agent isolated: workspace and home writable; Forge's data, other paths and the host's servers not", async () => {
    const outside = join(forge.dataDir, 'escaped.txt');
    const script = [
      'echo work > made.txt && echo wrote-workspace',
      'echo h > "$HOME/h.txt" && echo wrote-home',
      `cat ${join(forge.dataDir, 'forge.db')} > /dev/null 2>&1 && echo READ-DB || echo db-denied`,
      `cat ${forge.configPath} > /dev/null 2>&1 && echo READ-CONFIG || echo config-denied`,
      `echo x > ${outside} 2>/dev/null && echo WROTE-OUTSIDE || echo outside-denied`,
      reachScript(),
    ].join('; ');
    const id = (await forge.api<{ id: string }>('POST', '/jobs', { task: script })).body.id;
    const job = await forge.waitFor(id, undefined, 60_000);
    const out = job.attempts[0]!.output;
    expect(job.attempts[0]!.sandbox).toBe('local+srt');
    for (const line of [
      'wrote-workspace',
      'wrote-home',
      'db-denied',
      'config-denied',
      'outside-denied',
      'host-denied',
    ]) {
      expect(out).toContain(line);
    }
    expect(out).not.toMatch(/READ-DB|READ-CONFIG|WROTE-OUTSIDE|REACHED-HOST/);
    expect(existsSync(outside)).toBe(false);
    expect(hits).toBe(0);
    expect(existsSync(join(forge.dataDir, 'jobs', id, 'attempt-1', 'workspace', 'made.txt'))).toBe(
      true,
    );
  });

  it('without isolation the same agent does reach the host server, so the check above can fail', async () => {
    const open = await startForge({
      config: {
        sandbox: { isolation: 'none' },
        agents: { sh: { kind: 'command', command: ['/bin/sh', '-c', '{prompt}'] } },
        defaults: { agent: 'sh', max_retries: 0 },
      },
    });
    const id = (await open.api<{ id: string }>('POST', '/jobs', { task: reachScript() })).body.id;
    const job = await open.waitFor(id, undefined, 60_000);
    expect(job.attempts[0]!.output).toContain('REACHED-HOST');
    expect(hits).toBeGreaterThan(0);
    await open.stop();
  });
});
