import { ForgeError } from '../../domain/errors.ts';
import { PLAIN_OUTPUT, type AgentAdapter, type AgentInvocation } from '../../ports/agent.ts';
import { fitsInOneArgument, MAX_ARG_BYTES } from './argv-limit.ts';
import { checkProgram } from './program-check.ts';

export interface CommandAgentOptions {
  name: string;
  command: string[];
  /** The agent's configured env plus the values of its `pass_env` variables. */
  env: Record<string, string>;
  pathEnv: string;
}

/**
 * The generic escape hatch: any program. The prompt always arrives on standard input (and in the
 * file named by FORGE_PROMPT_FILE); `{prompt_file}` in an argument is replaced by that file's path
 * and `{prompt}` by the prompt itself (the argument stays one argv entry, so no shell quoting is
 * involved, but it is capped at 128 KiB and visible in `ps`). Output lines are shown as printed.
 */
export function createCommandAgent(opts: CommandAgentOptions): AgentAdapter {
  const installHint = `install "${opts.command[0]}" or fix agents.${opts.name}.command in forge.yaml`;
  return {
    kind: 'command',
    prepare(ctx): Promise<AgentInvocation> {
      const command = opts.command.map((arg) =>
        arg.replaceAll('{prompt_file}', ctx.promptFile).replaceAll('{prompt}', ctx.prompt),
      );
      const tooLong = command.find((arg) => !fitsInOneArgument(arg));
      if (tooLong !== undefined) {
        return Promise.reject(
          new ForgeError(
            'config',
            `agent "${opts.name}": with {prompt} substituted, an argument of agents.${opts.name}.command is ${Buffer.byteLength(tooLong)} bytes, more than one command-line argument holds (${MAX_ARG_BYTES / 1024} KiB); use {prompt_file} or read the prompt from standard input instead`,
          ),
        );
      }
      return Promise.resolve({
        command,
        env: { ...opts.env },
        parser: PLAIN_OUTPUT,
        installHint,
        stdinFile: ctx.promptFile,
      });
    },
    doctor() {
      return checkProgram({
        agent: opts.name,
        command: opts.command,
        versionArgs: null,
        credentials: {},
        anyOf: [],
        installHint,
        pathEnv: opts.pathEnv,
      });
    },
  };
}
