/**
 * The OpenAI Codex CLI (`kind: codex`), run as `codex exec --json`. Each attempt gets its own
 * CODEX_HOME inside the attempt's private directory with a config.toml written here: the model,
 * the provider (a custom provider with `base_url` is how a proxy or a test server is used — Codex
 * ignores OPENAI_BASE_URL), approvals off and Codex's own sandbox off, because Forge's sandbox is
 * the boundary and Codex's would block writes or fail nested inside bubblewrap.
 */
import { copyFile, lstat, mkdir, readdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type {
  AgentAdapter,
  AgentContext,
  AgentInvocation,
  McpServer,
} from '../../../ports/agent.ts';
import type { AgentFactoryOptions } from '../agent-options.ts';
import { checkProgram } from '../program-check.ts';
import { isSafeSessionId } from '../session-id.ts';
import { createCodexParser } from './codex-jsonl-parser.ts';

/** The provider id in config.toml. Fixed, because Codex refuses custom providers named like its
 *  built-ins ("openai", "ollama", …); `provider.name` becomes the display name. */
const PROVIDER_ID = 'forge';

export function createCodexAgent(opts: AgentFactoryOptions<'codex'>): AgentAdapter {
  const { name, config } = opts;
  const envKey = config.provider?.env_key ?? 'OPENAI_API_KEY';
  const installHint = `install @openai/codex (npm install -g @openai/codex) or set agents.${name}.command in forge.yaml`;
  return {
    kind: 'codex',
    async prepare(ctx): Promise<AgentInvocation> {
      const model = ctx.settings.model ?? config.model ?? null;
      const codexHome = join(ctx.privateDir, 'codex-home');
      await mkdir(codexHome, { recursive: true });
      await writeFile(join(codexHome, 'config.toml'), codexConfig(opts, ctx, model));
      // Codex has no turn limit or spending cap of its own: ctx.settings.maxTurns and
      // ctx.remainingBudgetUsd are not passed (Forge stops the attempt on its own cost estimate).
      // Tool allow/deny lists are Claude Code's notion and are ignored too.
      // The id came from an earlier attempt's output: checked again before it becomes part of a
      // file name or of the command line.
      const sessionId = isSafeSessionId(ctx.resumeSessionId) ? ctx.resumeSessionId : null;
      const restored = sessionId !== null && (await restoreRollout(ctx, sessionId, codexHome));
      return {
        command: [
          ...config.command,
          'exec',
          '--json',
          // Workspaces without a repository are empty directories, not git checkouts.
          '--skip-git-repo-check',
          '--cd',
          ctx.workspace,
          ...(restored ? ['resume', sessionId] : []),
          // The prompt is read from standard input: an argument holds at most 128 KiB and a task
          // may be 100,000 characters of multi-byte text; it also keeps the task out of `ps`.
          '-',
        ],
        stdinFile: ctx.promptFile,
        env: { ...config.env, ...opts.credentials, CODEX_HOME: codexHome },
        parser: createCodexParser({
          agent: name,
          model,
          prices: config.prices,
          envKey,
          workspace: ctx.workspace,
        }),
        installHint,
        ...(ctx.resumeSessionId === null ? {} : { session: restored ? 'resumed' : 'missing' }),
      };
    },
    doctor() {
      return checkProgram({
        agent: name,
        command: config.command,
        versionArgs: ['--version'],
        credentials: opts.credentials,
        anyOf: [envKey],
        installHint,
        pathEnv: opts.pathEnv,
      });
    },
  };
}

/**
 * `codex exec resume <id>` reads the session's rollout (`sessions/YYYY/MM/DD/rollout-<time>-<id>
 * .jsonl`) from CODEX_HOME, and every attempt has its own: copy the rollout, at the same relative
 * path, from the first of the earlier attempts' private directories the core named that has it.
 * Only a regular file is copied: the earlier agent wrote that directory, and a link planted there
 * must not make Forge copy a file the agent may not read. Without the rollout (removed, or the
 * attempt ran in a remote sandbox, whose CODEX_HOME stayed in its pod) the attempt starts fresh.
 */
async function restoreRollout(
  ctx: AgentContext,
  sessionId: string,
  codexHome: string,
): Promise<boolean> {
  const suffix = `-${sessionId}.jsonl`;
  for (const dir of ctx.sessionDirs ?? []) {
    if (resolve(dir) === resolve(ctx.privateDir)) continue;
    const sessions = join(dir, 'codex-home', 'sessions');
    const found = (await readdir(sessions, { recursive: true }).catch(() => [])).find(
      (path) => basename(path).startsWith('rollout-') && path.endsWith(suffix),
    );
    if (found === undefined || !(await lstat(join(sessions, found))).isFile()) continue;
    const target = join(codexHome, 'sessions', found);
    await mkdir(dirname(target), { recursive: true });
    await copyFile(join(sessions, found), target);
    return true;
  }
  return false;
}

/** The attempt's config.toml. Root keys come before tables, as TOML requires. */
function codexConfig(
  opts: AgentFactoryOptions<'codex'>,
  ctx: AgentContext,
  model: string | null,
): string {
  const { provider } = opts.config;
  const lines = [
    '# Written by Forge for one attempt.',
    ...(model === null ? [] : [`model = ${str(model)}`]),
    ...(provider ? [`model_provider = ${str(PROVIDER_ID)}`] : []),
    // Nobody is there to approve anything; Forge's sandbox is the boundary.
    'approval_policy = "never"',
    'sandbox_mode = "danger-full-access"',
    'check_for_update_on_startup = false',
    ...(ctx.settings.systemPrompt
      ? [`developer_instructions = ${str(ctx.settings.systemPrompt)}`]
      : []),
    '',
    '[analytics]',
    'enabled = false',
    '',
    '[feedback]',
    'enabled = false',
  ];
  if (provider) {
    lines.push(
      '',
      `[model_providers.${PROVIDER_ID}]`,
      `name = ${str(provider.name)}`,
      `base_url = ${str(provider.base_url)}`,
      `env_key = ${str(provider.env_key)}`,
      `wire_api = ${str(provider.wire_api)}`,
    );
  }
  for (const [serverName, server] of Object.entries(ctx.settings.mcpServers)) {
    lines.push('', `[mcp_servers.${str(serverName)}]`, ...mcpServerLines(server));
  }
  return `${lines.join('\n')}\n`;
}

function mcpServerLines(server: McpServer): string[] {
  if (server.type === 'http') {
    return [
      `url = ${str(server.url)}`,
      ...(Object.keys(server.headers).length ? [`http_headers = ${table(server.headers)}`] : []),
    ];
  }
  return [
    `command = ${str(server.command)}`,
    `args = [${server.args.map(str).join(', ')}]`,
    ...(Object.keys(server.env).length ? [`env = ${table(server.env)}`] : []),
  ];
}

/** A TOML basic string. JSON's escapes are TOML's, except that TOML also wants DEL escaped and
 *  has no lone surrogates (those become U+FFFD). */
export function str(value: string): string {
  const wellFormed = value.replace(
    /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g,
    '\uFFFD',
  );
  return JSON.stringify(wellFormed).replace(/\x7f/g, '\\u007f');
}

/** A TOML inline table with quoted keys (env names and header names may hold any character). */
function table(values: Record<string, string>): string {
  return `{ ${Object.entries(values)
    .map(([k, v]) => `${str(k)} = ${str(v)}`)
    .join(', ')} }`;
}
