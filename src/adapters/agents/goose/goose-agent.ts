import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ForgeError } from '../../../domain/errors.ts';
import type {
  AgentAdapter,
  AgentContext,
  AgentInvocation,
  McpServer,
} from '../../../ports/agent.ts';
import type { AgentFactoryOptions } from '../agent-options.ts';
import { checkProgram } from '../program-check.ts';
import { createGooseOutputParser, credentialVars } from './goose-output-parser.ts';
import { recipeTaskParam } from './recipe-task.ts';

/**
 * Goose (block/goose) run headless with `goose run`. Without a recipe the prompt goes in on
 * standard input (`-i -`): an argument holds at most 128 KiB and shows in `ps`, and goose keeps
 * `--system` with stdin but drops it with `-i <file>` (cli.rs, parse_run_input). With the
 * profile's recipe the prompt is the recipe's `task_description` parameter (recipe-task.ts), and
 * `--no-profile` keeps goose from loading configured extensions — which, in goose, also skips the
 * recipe's own `extensions:`, so tools come only from the flags Forge passes: the `developer`
 * builtin (files and shell) and the profile's MCP servers. Model and provider go in through
 * GOOSE_PROVIDER / GOOSE_MODEL; every attempt gets its own HOME and GOOSE_PATH_ROOT (goose's
 * config, data and state) inside its private directory, so attempts share nothing.
 */
export function createGooseAgent(opts: AgentFactoryOptions<'goose'>): AgentAdapter {
  const { name, config, credentials } = opts;
  const installHint = `install goose (https://block.github.io/goose/docs/getting-started/installation) or fix agents.${name}.command in forge.yaml`;
  return {
    kind: 'goose',
    async prepare(ctx: AgentContext): Promise<AgentInvocation> {
      const { settings } = ctx;
      refuseUnsupported(name, ctx);
      const input = settings.recipe
        ? [
            '--recipe',
            settings.recipe,
            '--no-profile',
            '--params',
            await recipeTaskParam(name, settings.recipe, ctx),
          ]
        : ['-i', '-', ...(settings.systemPrompt ? [`--system=${settings.systemPrompt}`] : [])];
      const command = [
        ...config.command,
        'run',
        ...input,
        '--with-builtin',
        'developer',
        ...(settings.maxTurns ? ['--max-turns', String(settings.maxTurns)] : []),
        ...extensionArgs(name, settings.mcpServers),
      ];
      const home = join(ctx.privateDir, 'home');
      const root = join(ctx.privateDir, 'goose');
      await mkdir(home, { recursive: true });
      await mkdir(root, { recursive: true });
      const model = settings.model ?? config.model ?? null;
      const env: Record<string, string> = {
        // Unattended: no approval prompts, no system keyring, no extra model call to name the session.
        GOOSE_MODE: 'auto',
        GOOSE_DISABLE_KEYRING: '1',
        GOOSE_DISABLE_SESSION_NAMING: 'true',
        GOOSE_TELEMETRY_ENABLED: 'false',
        NO_COLOR: '1',
        ...config.env,
        ...credentials,
        ...(config.provider ? { GOOSE_PROVIDER: config.provider } : {}),
        ...(model ? { GOOSE_MODEL: model } : {}),
        HOME: home,
        GOOSE_PATH_ROOT: root,
      };
      const parser = createGooseOutputParser({
        agent: name,
        provider: env.GOOSE_PROVIDER ?? null,
        maxTurns: settings.maxTurns,
      });
      // Like every kind; a recipe run gets its task from --params and leaves standard input unread.
      return { command, env, parser, installHint, stdinFile: ctx.promptFile };
    },
    async doctor() {
      const present = { ...config.env, ...credentials };
      const provider = config.provider ?? present.GOOSE_PROVIDER ?? null;
      const checks = await checkProgram({
        agent: name,
        command: config.command,
        versionArgs: ['--version'],
        credentials: present,
        anyOf: credentialVars(provider),
        installHint,
        pathEnv: opts.pathEnv,
      });
      if (!provider && checks[0]?.ok) {
        checks.push({
          name: `agent ${name} provider`,
          ok: false,
          level: 'warn',
          detail: `no provider: set agents.${name}.provider in forge.yaml or GOOSE_PROVIDER in the server's environment; jobs will fail with "auth"`,
        });
      }
      return checks;
    },
  };
}

/** Profile settings goose's command line cannot honour: refused rather than silently dropped. */
function refuseUnsupported(name: string, ctx: AgentContext): void {
  const { settings } = ctx;
  if (settings.allowedTools.length > 0 || settings.disallowedTools.length > 0) {
    throw new ForgeError(
      'config',
      `agent "${name}" (goose) cannot restrict tools from its command line; remove allowed_tools and disallowed_tools from the profile or use a claude-code agent`,
    );
  }
  if (settings.recipe && settings.systemPrompt) {
    throw new ForgeError(
      'config',
      `agent "${name}" (goose) cannot add a system prompt to a recipe run (goose refuses --system with --recipe); move system_prompt into the recipe's instructions`,
    );
  }
}

/** MCP servers as goose's extension flags: a stdio server is one "ENV=v command args" string. */
function extensionArgs(name: string, servers: Record<string, McpServer>): string[] {
  return Object.entries(servers).flatMap(([server, spec]) => {
    if (spec.type === 'http') {
      if (Object.keys(spec.headers).length > 0) {
        throw new ForgeError(
          'config',
          `agent "${name}" (goose) cannot send headers to MCP server "${server}": goose's --with-streamable-http-extension takes only a URL; remove the headers or use another agent`,
        );
      }
      return ['--with-streamable-http-extension', spec.url];
    }
    const words = [
      ...Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
      spec.command,
      ...spec.args,
    ];
    return ['--with-extension', words.map(shellWord).join(' ')];
  });
}

/** Quotes a word the way goose splits an extension string (shell-style), only when it must. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}
