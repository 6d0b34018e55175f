import type { AgentConfig } from './agent-config.ts';

/** What the composition root hands every agent adapter factory. */
export interface AgentFactoryOptions<K extends AgentConfig['kind']> {
  /** The agent's name under `agents:` (for messages). */
  name: string;
  config: Extract<AgentConfig, { kind: K }>;
  /** Values of the agent's `pass_env` variables that are set in the server's environment. */
  credentials: Record<string, string>;
  /** The server's PATH, for finding the program (doctor). */
  pathEnv: string;
}
