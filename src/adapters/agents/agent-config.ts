/**
 * An agent's settings under `agents:` as the adapters read them, after the configuration was
 * validated. Declared here, shaped like the configuration file, so the composition root hands its
 * parsed config over as it is while adapters never import the config module.
 */

/** USD per million tokens, for agents that report tokens rather than dollars. */
export interface TokenPrice {
  input_per_mtok: number;
  output_per_mtok: number;
  cached_input_per_mtok?: number | undefined;
}

interface Common {
  /** argv of the program. */
  command: string[];
  env: Record<string, string>;
  /** Names of server environment variables handed to the agent when set. */
  pass_env?: string[] | undefined;
}

export type AgentConfig =
  | (Common & { kind: 'command' })
  | (Common & {
      kind: 'claude-code';
      model?: string | undefined;
      prices: Record<string, TokenPrice>;
    })
  | (Common & {
      kind: 'codex';
      model?: string | undefined;
      provider?:
        { name: string; base_url: string; env_key: string; wire_api: 'responses' } | undefined;
      prices: Record<string, TokenPrice>;
    })
  | (Common & { kind: 'goose'; provider?: string | undefined; model?: string | undefined });
