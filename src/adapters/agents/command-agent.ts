import type { AgentAdapter, AgentInvocation } from '../../ports/agent.ts';
import { checkProgram } from './program-check.ts';

export interface CommandAgentOptions {
  name: string;
  command: string[];
  /** The agent's configured env plus the values of its `pass_env` variables. */
  env: Record<string, string>;
  pathEnv: string;
}

/**
 * The generic escape hatch: any program. `{prompt}` in an argument is replaced by the prompt (the
 * argument stays one argv entry, so no shell quoting is involved) and `{prompt_file}` by the path
 * of a file holding it. Output lines are shown as printed.
 */
export function createCommandAgent(opts: CommandAgentOptions): AgentAdapter {
  const installHint = `install "${opts.command[0]}" or fix agents.${opts.name}.command in forge.yaml`;
  return {
    kind: 'command',
    prepare(ctx): Promise<AgentInvocation> {
      const command = opts.command.map((arg) =>
        arg.replaceAll('{prompt_file}', ctx.promptFile).replaceAll('{prompt}', ctx.prompt),
      );
      return Promise.resolve({
        command,
        env: { ...opts.env },
        parser: { line: (raw) => ({ display: [raw] }) },
        installHint,
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
