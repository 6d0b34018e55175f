import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  isAlive,
  SCRIPTED_AGENT,
  startForge,
  stopAllForges,
  type ForgeProcess,
} from '../support/forge-server.ts';

let forge: ForgeProcess;

/** The agent's own output, without the lines Forge adds (e.g. the unisolated warning). */
const agentOutput = (output: string): string =>
  output
    .split('\n')
    .filter((l) => !l.startsWith('[forge] '))
    .join('\n');

beforeAll(async () => {
  forge = await startForge({ config: { limits: { max_concurrent: 3 } } });
});
afterAll(stopAllForges);

describe('jobs through the real server', () => {
  it('runs a job to SUCCEEDED with its output, exit code and timestamps', async () => {
    const id = await forge.submit('print hello from the agent; stderr and a warning; print done');
    const job = await forge.waitFor(id);
    expect(job.status).toBe('SUCCEEDED');
    expect(job.failure).toBeUndefined();
    expect(job.attempts).toHaveLength(1);
    const [a] = job.attempts;
    expect(a!.exit_code).toBe(0);
    expect(agentOutput(a!.output)).toBe('hello from the agent\nand a warning\ndone\n');
    expect(a!.output).toMatch(/^\[forge\] warning: running unisolated/);
    expect(a!.truncated).toBe(false);
    expect(Date.parse(a!.finished_at as string)).toBeGreaterThanOrEqual(
      Date.parse(a!.started_at as string),
    );
    const output = await forge.api<{
      attempt: number;
      output: string;
      exit_code: number;
      status: string;
    }>('GET', `/jobs/${id}/output`);
    expect(output.body).toMatchObject({
      attempt: 1,
      status: 'SUCCEEDED',
      exit_code: 0,
      truncated: false,
    });
    const log = await forge.api<string>('GET', `/jobs/${id}/log`);
    expect(log.body).toContain('hello from the agent\n');
  });

  it('gives the agent its job id, attempt and prompt file, and none of the server environment', async () => {
    const id = await forge.submit(
      'env FORGE_JOB_ID; env FORGE_ATTEMPT; env FORGE_PROMPT_FILE; env SECRET_OF_SERVER; write made.txt made it',
    );
    const job = await forge.waitFor(id);
    expect(job.attempts[0]!.output).toContain(`FORGE_JOB_ID=${id}\n`);
    expect(job.attempts[0]!.output).toContain('FORGE_ATTEMPT=1\n');
    expect(job.attempts[0]!.output).toMatch(/FORGE_PROMPT_FILE=\/.+prompt\.txt/);
    expect(job.attempts[0]!.output).toContain('SECRET_OF_SERVER=(unset)');
    expect(
      readFileSync(join(forge.dataDir, 'jobs', id, 'attempt-1', 'workspace', 'made.txt'), 'utf8'),
    ).toBe('made it');
  });

  it('fails a job whose agent exits non-zero, with a failure a person can act on', async () => {
    const id = await forge.submit('print about to fail; exit 3', { max_retries: 0 });
    const job = await forge.waitFor(id);
    expect(job.status).toBe('FAILED');
    expect(job.failure).toEqual({
      category: 'agent_error',
      message: expect.stringContaining('exited with code 3') as string,
    });
    expect(job.attempts[0]!.exit_code).toBe(3);
    expect(job.attempts[0]!.output).toContain('about to fail');
  });

  it('retries a failed attempt with the previous exit code, output tail and the task once', async () => {
    const task = 'print working hard; fail-on 1 7; echo-prompt';
    const id = await forge.submit(task, { max_retries: 2 });
    const job = await forge.waitFor(id);
    expect(job.status).toBe('SUCCEEDED');
    expect(job.attempts.map((a) => a.number)).toEqual([1, 2]);
    expect(job.attempts[0]!.exit_code).toBe(7);
    expect(job.attempts[0]!.failure?.category).toBe('agent_error');
    const prompt = job.attempts[1]!.output;
    expect(prompt).toContain('Exit code: 7');
    expect(prompt).toContain('failing on attempt 1 with 7');
    expect(prompt).toContain('agent_error');
    expect(prompt.split(task).length - 1).toBe(1);
  });

  it('fails after using up its retries, with attempts numbered contiguously', async () => {
    const id = await forge.submit('exit 2', { max_retries: 2 });
    const job = await forge.waitFor(id);
    expect(job.status).toBe('FAILED');
    expect(job.attempts.map((a) => a.number)).toEqual([1, 2, 3]);
  });

  it('cancels a pending job: no attempt ever starts', async () => {
    const busy = await Promise.all([1, 2, 3].map(() => forge.submit('sleep 3000')));
    const id = await forge.submit('print should never run');
    const cancel = await forge.api('POST', `/jobs/${id}/cancel`);
    expect(cancel.status).toBe(200);
    expect(cancel.body.status).toBe('CANCELLED');
    expect(cancel.body.failure?.category).toBe('cancelled');
    await Promise.all(busy.map((b) => forge.waitFor(b)));
    const job = await forge.job(id);
    expect(job.status).toBe('CANCELLED');
    expect(job.attempts).toHaveLength(0);
    expect((await forge.api('POST', `/jobs/${id}/cancel`)).status).toBe(409);
  });

  it('cancels a running job: the process tree dies within a second and the output is kept', async () => {
    const id = await forge.submit('print started; child 60000; pid; sleep 60000', {
      max_retries: 2,
    });
    const running = await forge.waitFor(id, (j) => /pid \d+/.test(j.attempts[0]?.output ?? ''));
    const pid = Number(/pid (\d+)/.exec(running.attempts[0]!.output)![1]);
    const child = Number(/child (\d+)/.exec(running.attempts[0]!.output)![1]);
    expect(isAlive(pid) && isAlive(child)).toBe(true);
    const cancelledAt = Date.now();
    const res = await forge.api('POST', `/jobs/${id}/cancel`);
    expect(res.body.status).toBe('CANCELLED');
    while ((isAlive(pid) || isAlive(child)) && Date.now() - cancelledAt < 5000)
      await new Promise((r) => setTimeout(r, 20));
    expect(isAlive(pid)).toBe(false);
    expect(isAlive(child)).toBe(false);
    const job = await forge.waitFor(id, (j) => !!j.attempts[0]?.finished_at);
    expect(job.status).toBe('CANCELLED');
    expect(job.attempts).toHaveLength(1);
    expect(job.attempts[0]!.output).toContain('started');
    expect(job.attempts[0]!.failure?.category).toBe('cancelled');
  });

  it('stops an agent that goes quiet (inactivity)', async () => {
    // Watchdogs and retries are the runner's unit tests' business; here only the wiring counts.
    const id = await forge.submit('print hello; sleep 60000', {
      inactivity_timeout: '2s',
      max_retries: 0,
    });
    const job = await forge.waitFor(id);
    expect(job.status).toBe('FAILED');
    expect(job.failure?.category).toBe('inactivity');
    expect(job.attempts).toHaveLength(1);
    expect(job.attempts[0]!.output).toContain('hello');
  });

  it('keeps exactly the last 32 KiB of output and says it was truncated', async () => {
    const big = await forge.waitFor(await forge.submit('bytes 200000'));
    const out = big.attempts[0]!;
    expect(Buffer.byteLength(out.output)).toBeLessThanOrEqual(32 * 1024);
    expect(Buffer.byteLength(out.output)).toBeGreaterThan(32 * 1024 - 100);
    expect(out.truncated).toBe(true);
    expect(out.output.endsWith('\n')).toBe(true);
    const log = readFileSync(join(forge.dataDir, 'jobs', big.id, 'attempt-1', 'output.log'));
    expect(log.subarray(log.length - Buffer.byteLength(out.output)).toString()).toBe(out.output);

    // The agent's bytes plus Forge's own notice line make exactly 32 KiB: nothing dropped.
    const noticeBytes = log
      .toString()
      .split('\n')
      .filter((l) => l.startsWith('[forge] '))
      .reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
    const exact = await forge.waitFor(await forge.submit(`bytes ${32 * 1024 - noticeBytes}`));
    expect(Buffer.byteLength(exact.attempts[0]!.output)).toBe(32 * 1024);
    expect(exact.attempts[0]!.truncated).toBe(false);
  });

  it('keeps a multi-byte character whole at the cut of the tail', async () => {
    const id = await forge.submit(`print ${'é'.repeat(20000)}`);
    const job = await forge.waitFor(id);
    expect(job.attempts[0]!.truncated).toBe(true);
    expect(job.attempts[0]!.output).not.toContain('\uFFFD');
  });

  it('streams output lines live over SSE, resumable with Last-Event-ID', async () => {
    const id = await forge.submit('lines 5 200');
    const res = await fetch(`${forge.url}/jobs/${id}/events`);
    const text = await res.text();
    const outputs = [...text.matchAll(/event: output\ndata: (.+)\nid: (\S+)/g)]
      .map((m) => ({ data: JSON.parse(m[1]!) as { line: string }, id: m[2]! }))
      .filter((o) => !o.data.line.startsWith('[forge] '));
    expect(outputs.map((o) => o.data.line.split(' at ')[0])).toEqual([
      'line 0',
      'line 1',
      'line 2',
      'line 3',
      'line 4',
    ]);
    expect(text).toContain('"status":"SUCCEEDED"');
    const resumed = await (
      await fetch(`${forge.url}/jobs/${id}/events`, {
        headers: { 'last-event-id': outputs[2]!.id },
      })
    ).text();
    const lines = [...resumed.matchAll(/"line":"(line \d)/g)].map((m) => m[1]);
    expect(lines).toEqual(['line 3', 'line 4']);
  });

  it('retries a FAILED job on request with a fresh retry budget', async () => {
    const id = await forge.submit('fail-on 1 5; print second time lucky', { max_retries: 0 });
    expect((await forge.waitFor(id)).status).toBe('FAILED');
    const retry = await forge.api('POST', `/jobs/${id}/retry`);
    expect(retry.status).toBe(200);
    expect(retry.body.status).toBe('PENDING');
    const job = await forge.waitFor(id);
    expect(job.status).toBe('SUCCEEDED');
    expect(job.attempts.map((a) => a.number)).toEqual([1, 2]);
    expect((await forge.api('POST', `/jobs/${id}/retry`)).status).toBe(409);
  });

  it('redacts configured secrets from the log, the tail and the live stream', async () => {
    const secret = 'sk-test-4f9a8c7e6d5b';
    const other = await startForge({
      config: {
        agents: {
          script: {
            kind: 'command',
            command: [process.execPath, SCRIPTED_AGENT, '{prompt_file}'],
            env: { API_TOKEN: secret },
          },
        },
      },
    });
    const id = await other.submit('env API_TOKEN; print done');
    const job = await other.waitFor(id);
    expect(job.attempts[0]!.output).toContain('API_TOKEN=[redacted]');
    const stream = await (await fetch(`${other.url}/jobs/${id}/events`)).text();
    const log = readFileSync(join(other.dataDir, 'jobs', id, 'attempt-1', 'output.log'), 'utf8');
    for (const text of [job.attempts[0]!.output, stream, log]) expect(text).not.toContain(secret);
    await other.stop();
  });

  it('reports a missing agent binary as agent_not_found without retrying', async () => {
    const other = await startForge({
      config: {
        agents: { ghost: { kind: 'command', command: ['no-such-agent-binary', '{prompt}'] } },
        defaults: { agent: 'ghost', max_retries: 2 },
      },
    });
    const res = await other.api<{ id: string }>('POST', '/jobs', { task: 'anything' });
    const job = await other.waitFor(res.body.id);
    expect(job.status).toBe('FAILED');
    expect(job.failure?.category).toBe('agent_not_found');
    expect(job.failure?.message).toContain('no-such-agent-binary');
    expect(job.attempts).toHaveLength(1);
    expect(existsSync(other.dataDir)).toBe(true);
    await other.stop();
  });
});
