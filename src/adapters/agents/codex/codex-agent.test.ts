import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI } from '../../../../test/support/fake-openai.ts';
import { loadConfig } from '../../../config.ts';
import type { Job } from '../../../domain/job.ts';
import type { AgentContext, AgentSettings } from '../../../ports/agent.ts';
import { createCodexAgent } from './codex-agent.ts';
import { agentSettings } from '../../../../test/support/agent-settings.ts';

const CODEX = join(import.meta.dirname, '..', '..', '..', '..', 'node_modules', '.bin', 'codex');
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function codexConfig(agent: Record<string, unknown>) {
  const config = loadConfig({}, JSON.stringify({ agents: { codex: { kind: 'codex', ...agent } } }));
  const parsed = config.agents.codex;
  if (parsed?.kind !== 'codex') throw new Error('not a codex agent');
  return parsed;
}

function context(settings: Partial<AgentSettings> = {}, prompt = 'do the task'): AgentContext {
  const root = mkdtempSync(join(tmpdir(), 'forge-codex-'));
  dirs.push(root);
  mkdirSync(join(root, 'workspace'));
  // The core writes the prompt file before it prepares the agent.
  mkdirSync(join(root, 'private'));
  writeFileSync(join(root, 'private', 'prompt.txt'), prompt);
  return {
    job: { id: 'job1' } as Job,
    attempt: 1,
    prompt,
    promptFile: join(root, 'private', 'prompt.txt'),
    workspace: join(root, 'workspace'),
    privateDir: join(root, 'private'),
    remainingBudgetUsd: 1,
    resumeSessionId: null,
    settings: agentSettings(settings),
  };
}

describe('codex agent', () => {
  it('runs codex exec --json in the workspace with an attempt-private CODEX_HOME', async () => {
    const agent = createCodexAgent({
      name: 'codex',
      config: codexConfig({ model: 'gpt-test', env: { A: '1' } }),
      credentials: { OPENAI_API_KEY: 'k' },
      pathEnv: '',
    });
    const ctx = context({}, '-starts with a dash');
    const invocation = await agent.prepare(ctx);
    expect(invocation.command).toEqual([
      'codex',
      'exec',
      '--json',
      '--skip-git-repo-check',
      '--cd',
      ctx.workspace,
      // "-": the prompt comes on standard input.
      '-',
    ]);
    expect(invocation.stdinFile).toBe(ctx.promptFile);
    expect(invocation.env).toEqual({
      A: '1',
      OPENAI_API_KEY: 'k',
      CODEX_HOME: join(ctx.privateDir, 'codex-home'),
    });
    expect(invocation.installHint).toContain('@openai/codex');
    const toml = readFileSync(join(ctx.privateDir, 'codex-home', 'config.toml'), 'utf8');
    expect(toml).toContain('model = "gpt-test"\n');
    expect(toml).toContain('approval_policy = "never"\n');
    expect(toml).toContain('sandbox_mode = "danger-full-access"\n');
    expect(toml).not.toContain('model_provider');
  });

  it('uses the job model over the agent model and hands a huge prompt over on standard input, whole', async () => {
    const agent = createCodexAgent({
      name: 'codex',
      config: codexConfig({ model: 'gpt-agent' }),
      credentials: {},
      pathEnv: '',
    });
    const ctx = context({ model: 'gpt-job' }, 'é'.repeat(50_000));
    const invocation = await agent.prepare(ctx);
    expect(invocation.command.at(-1)).toBe('-');
    expect(invocation.command.join(' ')).not.toContain('é');
    expect(invocation.stdinFile).toBe(ctx.promptFile);
    expect(readFileSync(join(ctx.privateDir, 'codex-home', 'config.toml'), 'utf8')).toContain(
      'model = "gpt-job"\n',
    );
  });

  describe('resuming an earlier session', () => {
    const SESSION = '01a222bd-b3e2-7f11-81bf-2eba8c855b5b';
    const ROLLOUT = join('2026', '01', '15', `rollout-2026-01-15T10-00-00-${SESSION}.jsonl`);
    const agent = createCodexAgent({
      name: 'codex',
      config: codexConfig({}),
      credentials: {},
      pathEnv: '',
    });

    /** An earlier attempt's private directory holding `file` as its rollout (or nothing). */
    function earlier(make?: (path: string) => void): string {
      const dir = mkdtempSync(join(tmpdir(), 'forge-codex-earlier-'));
      dirs.push(dir);
      const path = join(dir, 'codex-home', 'sessions', ROLLOUT);
      mkdirSync(dirname(path), { recursive: true });
      make?.(path);
      return dir;
    }

    it('copies the rollout from the first directory holding it and runs `exec … resume <id> -`', async () => {
      const ctx = { ...context(), resumeSessionId: SESSION };
      ctx.sessionDirs = [earlier(), earlier((p) => writeFileSync(p, '{"turn":1}\n'))];
      const invocation = await agent.prepare(ctx);
      expect(invocation.command.slice(-3)).toEqual(['resume', SESSION, '-']);
      expect(invocation.session).toBe('resumed');
      const copied = join(ctx.privateDir, 'codex-home', 'sessions', ROLLOUT);
      expect(readFileSync(copied, 'utf8')).toBe('{"turn":1}\n');
    });

    it('starts fresh, reporting the session missing, when no directory holds its rollout', async () => {
      const ctx = { ...context(), resumeSessionId: SESSION, sessionDirs: [earlier()] };
      const invocation = await agent.prepare(ctx);
      expect(invocation.command).not.toContain('resume');
      expect(invocation.session).toBe('missing');
    });

    it('never copies a rollout that is a link (to a file the agent may not read)', async () => {
      const secret = join(earlier(), 'secret.db');
      writeFileSync(secret, 'server secrets');
      const ctx = { ...context(), resumeSessionId: SESSION };
      ctx.sessionDirs = [earlier((p) => symlinkSync(secret, p))];
      const invocation = await agent.prepare(ctx);
      expect(invocation.command).not.toContain('resume');
      expect(existsSync(join(ctx.privateDir, 'codex-home', 'sessions'))).toBe(false);
    });

    it('never resumes a session id that is not a plain name', async () => {
      const hostile = `../../${SESSION}`;
      const ctx = { ...context(), resumeSessionId: hostile };
      ctx.sessionDirs = [earlier((p) => writeFileSync(p, '{}\n'))];
      const invocation = await agent.prepare(ctx);
      expect(invocation.command).not.toContain(hostile);
      expect(invocation.command).not.toContain('resume');
    });

    it('says nothing about sessions when none is to be resumed', async () => {
      expect((await agent.prepare(context())).session).toBeUndefined();
    });
  });

  it('reports a missing program with the install hint in doctor', async () => {
    const agent = createCodexAgent({
      name: 'codex',
      config: codexConfig({ command: ['codex-not-installed-here'] }),
      credentials: {},
      pathEnv: '/nonexistent',
    });
    const [check] = await agent.doctor();
    expect(check).toMatchObject({
      ok: false,
      detail: expect.stringContaining('@openai/codex') as string,
    });
  });

  it('writes a config the real CLI accepts under --strict-config: provider, MCP servers, instructions', async () => {
    const fake = await startFakeOpenAI([{ items: [{ type: 'message', text: 'configured' }] }]);
    try {
      const config = codexConfig({
        command: [CODEX],
        model: 'gpt-test',
        provider: { name: 'openai', base_url: `${fake.url}/v1`, env_key: 'FAKE_OPENAI_KEY' },
      });
      const agent = createCodexAgent({
        name: 'codex',
        config,
        credentials: { FAKE_OPENAI_KEY: 'secret-key' },
        pathEnv: process.env.PATH ?? '',
      });
      const ctx = context({
        systemPrompt: 'Say "configured" and "quoted" things.\u007f',
        mcpServers: {
          'local.tools': {
            type: 'stdio',
            command: 'true',
            args: ['--flag', 'a b'],
            env: { 'ODD-NAME': 'x' },
          },
          remote: { type: 'http', url: `${fake.url}/mcp`, headers: { 'X-Token': 't' } },
        },
      });
      const { command, env, stdinFile } = await agent.prepare(ctx);
      const argv = [...command.slice(1, 2), '--strict-config', ...command.slice(2)];
      const { code, stdout } = await run(
        CODEX,
        argv,
        { PATH: process.env.PATH ?? '', HOME: ctx.privateDir, ...env },
        ctx.workspace,
        stdinFile,
      );
      expect(stdout).toContain('"type":"turn.completed"');
      expect(code).toBe(0);
      const turn = fake.requests.find((r) => r.path === '/v1/responses');
      expect(turn?.headers.authorization).toBe('Bearer secret-key');
      expect(JSON.stringify(turn?.body)).toContain('Say \\"configured\\" and \\"quoted\\" things.');
      // The prompt came on standard input ("-").
      expect(JSON.stringify(turn?.body)).toContain('do the task');
    } finally {
      await fake.close();
    }
  }, 60_000);
});

function run(
  file: string,
  args: string[],
  env: Record<string, string>,
  cwd: string,
  stdinFile?: string,
): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { env, cwd, timeout: 50_000 }, (err, stdout) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout });
    });
    child.stdin?.end(stdinFile === undefined ? '' : readFileSync(stdinFile));
  });
}
