import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ForgeError } from '../../../domain/errors.ts';
import type {
  AgentAdapter,
  AgentContext,
  AgentInvocation,
  McpServer,
} from '../../../ports/agent.ts';
import type { AgentFactoryOptions } from '../agent-options.ts';
import { checkProgram } from '../program-check.ts';
import { isSafeSessionId } from '../session-id.ts';
import { createStreamJsonParser } from './stream-json-parser.ts';

/** Variables of which one must be set for Claude Code to reach a model. */
const CREDENTIALS = ['ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'CLAUDE_CODE_USE_BEDROCK'];

/**
 * Claude Code run headless: `claude -p … --output-format stream-json --verbose`, never waiting on
 * a permission prompt (see permissionArgs; the sandbox is the boundary). With no prompt argument
 * `-p` reads the prompt from standard input, which is how it goes in: an argument could not hold a
 * long task (128 KiB at most) and would show it in `ps`. Each attempt gets its own HOME, temp and
 * runtime directories in its private area, so attempts share no settings, sessions or sockets; no
 * onboarding or trust prompt appears in `-p` mode, so the HOME can start empty.
 */
export function createClaudeCodeAgent(opts: AgentFactoryOptions<'claude-code'>): AgentAdapter {
  const { name, config, credentials } = opts;
  const installHint = `install Claude Code (npm install -g @anthropic-ai/claude-code) or fix agents.${name}.command in forge.yaml`;
  return {
    kind: 'claude-code',
    async prepare(ctx: AgentContext): Promise<AgentInvocation> {
      const home = join(ctx.privateDir, 'home');
      const tmp = join(ctx.privateDir, 'tmp');
      const run = join(ctx.privateDir, 'run');
      await mkdir(home, { recursive: true });
      await mkdir(tmp, { recursive: true });
      // The CLI keeps its messaging socket here; like any XDG runtime dir it must be private.
      await mkdir(run, { recursive: true, mode: 0o700 });
      // The id came from an earlier attempt's output: it is checked again before it becomes part
      // of a path or of the command line.
      const sessionId = isSafeSessionId(ctx.resumeSessionId) ? ctx.resumeSessionId : null;
      const restored = sessionId !== null && (await restoreSession(ctx, sessionId, home));
      const resume = restored ? ['--resume', sessionId] : [];
      const command = [
        ...config.command,
        '-p',
        '--output-format',
        'stream-json',
        '--verbose',
        // Usage with final output-token counts only arrives in the partial-message events.
        '--include-partial-messages',
        ...permissionArgs(ctx),
        ...optionArgs(ctx, config.model ?? null, name),
        ...(await mcpArgs(ctx)),
        ...resume,
      ];
      const env: Record<string, string> = {
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        DISABLE_AUTOUPDATER: '1',
        // As root the CLI refuses --dangerously-skip-permissions unless told it is sandboxed.
        ...(process.getuid?.() === 0 ? { IS_SANDBOX: '1' } : {}),
        ...config.env,
        ...credentials,
        HOME: home,
        CLAUDE_CODE_TMPDIR: tmp,
        XDG_RUNTIME_DIR: run,
      };
      const parser = createStreamJsonParser({ agent: name, prices: config.prices });
      return {
        command,
        env,
        parser,
        installHint,
        stdinFile: ctx.promptFile,
        ...(ctx.resumeSessionId === null ? {} : { session: restored ? 'resumed' : 'missing' }),
      };
    },
    doctor() {
      return checkProgram({
        agent: name,
        command: config.command,
        versionArgs: ['--version'],
        credentials: { ...config.env, ...credentials },
        anyOf: CREDENTIALS,
        installHint,
        pathEnv: opts.pathEnv,
      });
    },
  };
}

function optionArgs(ctx: AgentContext, agentModel: string | null, name: string): string[] {
  const { settings } = ctx;
  const args: string[] = [];
  const model = settings.model ?? agentModel;
  if (model) args.push('--model', model);
  if (ctx.remainingBudgetUsd !== null) {
    // The CLI refuses a cap of 0; a job with nothing left must not start at all.
    const cap = Math.floor(ctx.remainingBudgetUsd * 10_000) / 10_000;
    if (cap <= 0) {
      throw new ForgeError(
        'config',
        `agent "${name}": job ${ctx.job.id} has spent its whole budget ($${ctx.job.budget_usd ?? 0}); raise budget_usd to run it again`,
      );
    }
    args.push('--max-budget-usd', String(cap));
  }
  if (settings.maxTurns !== null) args.push('--max-turns', String(settings.maxTurns));
  if (settings.systemPrompt) args.push('--append-system-prompt', settings.systemPrompt);
  if (settings.disallowedTools.length > 0)
    args.push('--disallowedTools', ...settings.disallowedTools);
  return args;
}

/**
 * Nobody can answer a permission prompt. Without an allow list every tool may run (bypass). With
 * one, bypass would ignore it (it approves everything), so `dontAsk` is used instead: the listed
 * tools (and the read-only ones the CLI never asks about) run, anything else is refused.
 */
function permissionArgs(ctx: AgentContext): string[] {
  const allowed = ctx.settings.allowedTools;
  return allowed.length > 0
    ? ['--permission-mode', 'dontAsk', '--allowedTools', ...allowed]
    : ['--dangerously-skip-permissions'];
}

/** Writes the profile's MCP servers in Claude Code's own format; `--strict-mcp-config` keeps the
 *  repository's `.mcp.json` and any user config from adding others. */
async function mcpArgs(ctx: AgentContext): Promise<string[]> {
  const servers = Object.entries(ctx.settings.mcpServers);
  if (servers.length === 0) return [];
  const file = join(ctx.privateDir, 'mcp.json');
  const mcpServers = Object.fromEntries(servers.map(([server, spec]) => [server, mcpEntry(spec)]));
  await writeFile(file, JSON.stringify({ mcpServers }, null, 2), { mode: 0o600 });
  return ['--mcp-config', file, '--strict-mcp-config'];
}

function mcpEntry(spec: McpServer): Record<string, unknown> {
  return spec.type === 'http'
    ? { type: 'http', url: spec.url, headers: spec.headers }
    : { command: spec.command, args: spec.args, env: spec.env };
}

/**
 * `--resume` reads the session's transcript from HOME, and every attempt has its own HOME: copy
 * the project directory holding `<session>.jsonl` from the first of the earlier attempts' private
 * directories the core named that has it (this job's earlier attempts, or a parent job's). The
 * CLI finds a session in any project directory, so the new workspace path does not matter.
 * Without the transcript (removed, or the attempt ran in a remote sandbox, whose HOME stayed in
 * its pod) the CLI would fail the attempt ("No conversation found"), so it starts fresh instead.
 */
async function restoreSession(
  ctx: AgentContext,
  sessionId: string,
  home: string,
): Promise<boolean> {
  for (const dir of ctx.sessionDirs ?? []) {
    if (resolve(dir) === resolve(ctx.privateDir)) continue;
    const projects = join(dir, 'home', '.claude', 'projects');
    for (const project of await readdir(projects).catch(() => [])) {
      if (!existsSync(join(projects, project, `${sessionId}.jsonl`))) continue;
      await cp(join(projects, project), join(home, '.claude', 'projects', project), {
        recursive: true,
      });
      return true;
    }
  }
  return false;
}
