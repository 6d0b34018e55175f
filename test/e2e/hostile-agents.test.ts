// Agents that behave like an attacker or a broken program, against the real server: the server
// stays responsive, every job ends, and nothing secret comes out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startForge, stopAllForges, type ForgeProcess } from '../support/forge-server.ts';

const TOKEN = 'tok-profile-0123456789abcdef';
let forge: ForgeProcess;

const sh = (script: string) => ({ kind: 'command', command: ['/bin/sh', '-c', script] });

beforeAll(async () => {
  forge = await startForge({
    config: {
      defaults: { agent: 'echo', max_retries: 0, inactivity_timeout: '30s', max_duration: '1m' },
      agents: {
        // 70,000 UTF-8 continuation bytes and no newline until after a pause.
        continuation: sh("head -c 70000 /dev/zero | tr '\\000' '\\200'; sleep 1; echo end"),
        // A child that leaves the process group, clears its environment and keeps stdout open.
        leftover: sh('setsid sh -c "exec env -i sleep 1234" & sleep 1; echo started'),
        echo: sh('echo "token=$MY_TOKEN"; echo "header=$MCP_AUTH"'),
      },
      profiles: {
        leaky: { agent: 'echo', env: { MY_TOKEN: TOKEN } },
      },
    },
  });
});
afterAll(stopAllForges);

describe('hostile agents', () => {
  it('an agent printing 70,000 continuation bytes without a newline neither freezes the server nor loses bytes', async () => {
    const id = await forge.submit('x', { agent: 'continuation' });
    const health = await forge.api('GET', '/health');
    expect(health.status).toBe(200);
    const job = await forge.waitFor(id);
    expect(job.status).toBe('SUCCEEDED');
    const log = await fetch(`${forge.url}/jobs/${id}/log`);
    const bytes = Buffer.from(await log.arrayBuffer());
    // Invalid UTF-8 is shown as U+FFFD, one per byte: none of the 70,000 went missing.
    const replacement = bytes.toString('utf8').split('\uFFFD').length - 1;
    expect(replacement).toBe(70_000);
    expect(bytes.toString('utf8')).toContain('end\n');
  });

  it('a child that leaves the process group and holds the output open does not keep the job RUNNING', async () => {
    const id = await forge.submit('x', { agent: 'leftover', max_duration: '8s' });
    const job = await forge.waitFor(id, undefined, 15_000);
    expect(job.status).toBe('SUCCEEDED');
    expect(job.attempts[0]?.output).toContain('started');
  });

  it("a profile's env value is a secret: never in the output, the log or the API", async () => {
    const id = await forge.submit('x', { profile: 'leaky', agent: undefined });
    const job = await forge.waitFor(id);
    expect(job.status).toBe('SUCCEEDED');
    const everything = [
      JSON.stringify(job),
      JSON.stringify((await forge.api('GET', `/jobs/${id}/output`)).body),
      await (await fetch(`${forge.url}/jobs/${id}/log`)).text(),
    ].join('\n');
    expect(everything).toContain('token=[redacted]');
    expect(everything).not.toContain(TOKEN);
  });
});
