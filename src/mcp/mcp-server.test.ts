// MCP tools and resources in process: the SDK's Client over streamable HTTP, its requests handed
// to app.request (no socket). The server has no tokens here; mcp-auth.test.ts covers tokens.
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { UNKNOWN_ID } from '../../test/contracts/store-fixtures.ts';
import { closeClients, connect, json, mcpApp, textOf } from '../../test/support/mcp-test-client.ts';

const CONFIG = `
agents: {script: {kind: command, command: [/bin/true], env: {SECRET_KEY: agent-env-secret}}}
profiles:
  quick: {agent: script, max_turns: 5, budget_usd: 1, env: {API_KEY: profile-env-secret}}
repos:
  app: {url: "https://git.example.com/acme/app.git", base_branch: main}
`;

afterEach(closeClients);

const setup = () => mcpApp(CONFIG);

async function call(client: Client, name: string, args: Record<string, unknown> = {}) {
  return (await client.callTool({ name, arguments: args })) as CallToolResult;
}

describe('MCP tools', () => {
  it('lists every tool with a description and an input schema', async () => {
    const { app } = setup();
    const client = await connect(app);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([
      'cancel_job',
      'follow_up_job',
      'get_job',
      'get_job_log',
      'get_job_output',
      'get_steward',
      'get_steward_notes',
      'list_jobs',
      'list_profiles',
      'list_repos',
      'list_stewards',
      'pause_steward',
      'resume_steward',
      'retry_job',
      'submit_job',
      'update_steward_notes',
      'wait_for_job',
      'wake_steward',
    ]);
    for (const tool of tools) {
      expect(tool.description).toBeTruthy();
      expect(tool.inputSchema.type).toBe('object');
    }
  });

  it('submits a job with source mcp and returns its id at once; get_job and list_jobs find it', async () => {
    const { app } = setup();
    const client = await connect(app);
    const submitted = json<{ id: string; status: string }>(
      await call(client, 'submit_job', { task: 'print hi', profile: 'quick', tags: ['mcp-test'] }),
    );
    expect(submitted.status).toBe('PENDING');
    const job = json(await call(client, 'get_job', { id: submitted.id }));
    expect(job).toMatchObject({ id: submitted.id, source: 'mcp', profile: 'quick', max_turns: 5 });
    expect(job.attempts).toEqual([]);
    const listed = json<{ jobs: Array<{ id: string }>; total: number }>(
      await call(client, 'list_jobs', { status: ['PENDING'], tags: ['mcp-test'] }),
    );
    expect(listed.total).toBe(1);
    expect(listed.jobs[0]!.id).toBe(submitted.id);
    const none = json<{ total: number }>(await call(client, 'list_jobs', { status: ['FAILED'] }));
    expect(none.total).toBe(0);
  });

  it('refuses what POST /jobs refuses, with the API message, as a tool error', async () => {
    const { app } = setup();
    const client = await connect(app);
    const unknownProfile = await call(client, 'submit_job', { task: 'x', profile: 'nope' });
    expect(unknownProfile.isError).toBe(true);
    expect(textOf(unknownProfile)).toBe('profile: unknown profile "nope" (known: quick)');
    const blank = await call(client, 'submit_job', { task: '  ' });
    expect(blank.isError).toBe(true);
    expect(textOf(blank)).toBe('task: task must not be blank');
    const branchless = await call(client, 'submit_job', { task: 'x', base_branch: 'main' });
    expect(textOf(branchless)).toBe('base_branch: only makes sense with "repo"');
    const limit = await call(client, 'list_jobs', { limit: 500 });
    expect(limit.isError).toBe(true);
    expect(textOf(limit)).toMatch(/^limit: "500" must be a whole number from 1 to 100/);
  });

  it('follows up a finished job: a new job on its branch, linked to it; a queued one is refused', async () => {
    const { app } = setup();
    const client = await connect(app);
    const { id } = json<{ id: string }>(await call(client, 'submit_job', { task: 'print hi' }));
    const early = await call(client, 'follow_up_job', { id, message: 'and then more' });
    expect(early.isError).toBe(true);
    expect(textOf(early)).toContain('follow up once it has ended');
    await call(client, 'cancel_job', { id });
    const next = json<{ id: string; parent_id: string }>(
      await call(client, 'follow_up_job', { id, message: 'and then more' }),
    );
    expect(next.parent_id).toBe(id);
    const job = json<{ task: string; parent_id: string }>(
      await call(client, 'get_job', { id: next.id }),
    );
    expect(job.parent_id).toBe(id);
    expect(job.task).toContain('The task:\nand then more');
  });

  it('answers an unknown job with the API not-found message', async () => {
    const { app } = setup();
    const client = await connect(app);
    for (const tool of ['get_job', 'get_job_output', 'get_job_log', 'cancel_job', 'retry_job']) {
      const result = await call(client, tool, { id: UNKNOWN_ID });
      expect(result.isError, tool).toBe(true);
      expect(textOf(result), tool).toBe(
        `no job with id ${UNKNOWN_ID}; list jobs with GET /jobs or "forge list"`,
      );
    }
  });

  it('gives the latest output and byte ranges of the log; says when nothing started yet', async () => {
    const { app, store, logs } = setup();
    const client = await connect(app);
    const { id } = json<{ id: string }>(await call(client, 'submit_job', { task: 'print hi' }));
    const early = await call(client, 'get_job_output', { id });
    expect(early.isError).toBe(true);
    expect(textOf(early)).toMatch(/has not started an attempt yet \(status PENDING\)/);
    expect(textOf(await call(client, 'get_job_log', { id }))).toBe(
      `no log yet: job ${id} has not started an attempt`,
    );

    const { attempt } = (await store.claim('runner', 60_000, 'local'))!;
    const key = { job_id: id, attempt };
    const log = logs.open(key);
    log.append(Buffer.from('hello\nworld\n'));
    log.close();
    const result = { exit_code: 0, output: 'hello\nworld\n', truncated: false, failure: null };
    await store.finish(key, 'runner', result, { status: 'SUCCEEDED' });

    expect(json(await call(client, 'get_job_output', { id }))).toEqual({
      attempt: 1,
      status: 'SUCCEEDED',
      exit_code: 0,
      output: 'hello\nworld\n',
      truncated: false,
    });
    expect(json(await call(client, 'get_job_log', { id, offset: 6, limit: 3 }))).toEqual({
      attempt: 1,
      offset: 6,
      next_offset: 9,
      size: 12,
      text: 'wor',
    });
    expect(json(await call(client, 'get_job_log', { id, offset: 50 }))).toMatchObject({
      next_offset: 50,
      text: '',
    });
    const badAttempt = await call(client, 'get_job_log', { id, attempt: 2 });
    expect(textOf(badAttempt)).toBe('attempt: "2" must be a whole number from 1 to 1');

    const resource = await client.readResource({ uri: `forge://jobs/${id}/log` });
    expect(resource.contents[0]).toMatchObject({ mimeType: 'text/plain', text: 'hello\nworld\n' });
  });

  it('cancels a pending job, then refuses a second cancel and a retry of a running job as tool errors', async () => {
    const { app, store } = setup();
    const client = await connect(app);
    const first = json<{ id: string }>(await call(client, 'submit_job', { task: 'a' }));
    const cancelled = json(await call(client, 'cancel_job', { id: first.id }));
    expect(cancelled).toMatchObject({ id: first.id, status: 'CANCELLED' });
    const again = await call(client, 'cancel_job', { id: first.id });
    expect(again.isError).toBe(true);
    expect(textOf(again)).toMatch(/CANCELLED/);
    const retried = json(await call(client, 'retry_job', { id: first.id }));
    expect(retried).toMatchObject({ id: first.id, status: 'PENDING' });

    await store.claim('runner', 60_000, 'local');
    const running = await call(client, 'retry_job', { id: first.id });
    expect(running.isError).toBe(true);
    expect(textOf(running)).toMatch(/RUNNING/);
  });

  it('serves a job as the forge://jobs/{id} resource, shaped like GET /jobs/{id}', async () => {
    const { app } = setup();
    const client = await connect(app);
    const { id } = json<{ id: string }>(await call(client, 'submit_job', { task: 'print hi' }));
    const resource = await client.readResource({ uri: `forge://jobs/${id}` });
    const viaApi: unknown = await (await app.request(`/jobs/${id}`)).json();
    const content = resource.contents[0]!;
    expect(content.mimeType).toBe('application/json');
    expect('text' in content && JSON.parse(content.text)).toEqual(viaApi);
    await expect(client.readResource({ uri: `forge://jobs/${UNKNOWN_ID}` })).rejects.toThrow(
      /no job with id/,
    );
  });

  it('waits for a job, reporting its output lines as progress, and returns when it ends', async () => {
    const { app, store, bus } = setup();
    const client = await connect(app);
    const { id } = json<{ id: string }>(await call(client, 'submit_job', { task: 'print hi' }));
    const { attempt } = (await store.claim('runner', 60_000, 'local'))!;
    const key = { job_id: id, attempt };
    // The first progress message is the line the attempt printed last, once the wait listens.
    await store.saveProgress(key, {
      output: 'started\n',
      truncated: false,
      cost_usd: null,
      turns: null,
      session_id: null,
    });
    const progress: string[] = [];
    const waiting = client.callTool({ name: 'wait_for_job', arguments: { id } }, undefined, {
      onprogress: (p) => {
        progress.push(p.message ?? '');
        if (progress.length === 1)
          bus.publish({ type: 'attempt.output', jobId: id, attempt, offset: 6, text: 'working' });
        if (progress.length === 2) void finish();
      },
    });
    const finish = async () => {
      await store.finish(
        key,
        'runner',
        { exit_code: 0, output: 'working\n', truncated: false, failure: null },
        { status: 'SUCCEEDED' },
      );
      bus.publish({ type: 'job.status', jobId: id, status: 'SUCCEEDED', attempt, failure: null });
    };
    const result = json(await waiting);
    expect(result).toMatchObject({ id, status: 'SUCCEEDED', done: true });
    expect(progress).toEqual(['started', 'working']);
  });

  it('returns the current status when the wait times out', async () => {
    const { app } = setup();
    const client = await connect(app);
    const { id } = json<{ id: string }>(await call(client, 'submit_job', { task: 'print hi' }));
    const result = json(await call(client, 'wait_for_job', { id, timeout_seconds: 0 }));
    expect(result).toMatchObject({ id, status: 'PENDING', done: false });
    const tooLong = await call(client, 'wait_for_job', { id, timeout_seconds: 601 });
    expect(tooLong.isError).toBe(true);
  });

  it('lists profiles and repositories without env, tokens or prompts', async () => {
    const { app } = setup();
    const client = await connect(app);
    const profiles = await call(client, 'list_profiles');
    expect(json(profiles)).toMatchObject({
      profiles: [{ name: 'quick', agent: 'script', max_turns: 5, budget_usd: 1 }],
      agents: [{ name: 'script', kind: 'command' }],
    });
    const repos = await call(client, 'list_repos');
    expect(json(repos)).toEqual({
      repos: [
        {
          name: 'app',
          url: 'https://git.example.com/acme/app.git',
          base_branch: 'main',
          draft: false,
        },
      ],
    });
    for (const text of [textOf(profiles), textOf(repos)]) expect(text).not.toMatch(/secret|env/i);
  });
});
