/**
 * Every secret value Forge knows of, so that none of them is ever stored, streamed, committed or
 * sent out (see the core's redaction of agent output). Part of the composition root: it reads the
 * configuration and the values of the server environment variables agents receive.
 *
 * A value is a secret when Forge holds it for authentication (server and forge tokens) or when its
 * name says so (isSecretName): agents' `env` and `pass_env` values, profiles' `env`, MCP servers'
 * `env` and `headers` (Authorization and Cookie always), and credentials inside URLs. Ordinary
 * values (NODE_ENV=test) are left alone: redacting common words would wreck the output.
 */
import { passedEnv } from './adapters/agents/pass-env.ts';
import type { ForgeConfig, McpServerConfig } from './config.ts';

/** Shorter values would be common words or numbers, and could not be redacted without mangling
 *  ordinary output; such a secret is refused rather than left in the clear. */
export const MIN_SECRET_LENGTH = 8;

/** A secret value and where it was configured, for messages (never the value itself). */
export interface Secret {
  where: string;
  value: string;
}

/** One word of a variable or header name (split at `_`, `-` and `.`) that names a credential:
 *  ending like one (API_KEY, APIKEY, GITHUB_TOKEN, DB_PASSWD) or being one (BASIC_AUTH, DB_PASS,
 *  GITHUB_PAT). Not MAX_OUTPUT_TOKENS (a count), GOOSE_DISABLE_KEYRING or GIT_AUTHOR_NAME, whose
 *  words only start that way. */
const SECRET_WORD = /(KEY|TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIALS?)$|^(AUTH|PASS|PAT)$/;
/** A name whose last word is one of these says where a secret is kept, not the secret. */
const LOCATION_WORD = /^(FILE|PATH|DIR)$/;
/** Headers that carry credentials whatever they are called. */
const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie']);

export function isSecretName(name: string): boolean {
  const words = name.toUpperCase().split(/[_.-]+/);
  if (LOCATION_WORD.test(words.at(-1) ?? '')) return false;
  return words.some((word) => SECRET_WORD.test(word));
}

/** Secrets written in the configuration itself; `loadConfig` refuses short ones. */
export function configSecrets(config: ForgeConfig): Secret[] {
  const found: Secret[] = [];
  const named = (where: string, values: Record<string, string>): void => {
    for (const [name, value] of Object.entries(values))
      if (isSecretName(name)) found.push({ where: `${where}.${name}`, value });
  };
  config.server.tokens.forEach((t, i) =>
    found.push({ where: `server.tokens[${i}].token`, value: t.token }),
  );
  for (const [name, forge] of Object.entries(config.forges))
    found.push({ where: `forges.${name}.token`, value: forge.token });
  if (config.store.kind === 'nats' && config.store.token)
    found.push({ where: 'store.token', value: config.store.token });
  for (const [name, source] of Object.entries(config.intake))
    if (source.webhook_secret)
      found.push({ where: `intake.${name}.webhook_secret`, value: source.webhook_secret });
  for (const [name, steward] of Object.entries(config.stewards))
    if (steward.webhook_secret)
      found.push({ where: `stewards.${name}.webhook_secret`, value: steward.webhook_secret });
  for (const [name, notifier] of Object.entries(config.notify))
    found.push(
      notifier.kind === 'telegram'
        ? { where: `notify.${name}.token`, value: notifier.token }
        : { where: `notify.${name}.secret`, value: notifier.secret },
    );
  for (const [name, agent] of Object.entries(config.agents)) {
    named(`agents.${name}.env`, agent.env);
    if (agent.kind === 'codex' && agent.provider)
      found.push(...urlSecrets(`agents.${name}.provider.base_url`, agent.provider.base_url));
  }
  for (const [name, profile] of Object.entries(config.profiles)) {
    named(`profiles.${name}.env`, profile.env);
    for (const [server, spec] of Object.entries(profile.mcp_servers))
      found.push(...mcpSecrets(`profiles.${name}.mcp_servers.${server}`, spec));
  }
  return found.filter((s) => s.value !== '');
}

function mcpSecrets(where: string, spec: McpServerConfig): Secret[] {
  if (spec.type === 'stdio') {
    return Object.entries(spec.env)
      .filter(([name]) => isSecretName(name))
      .map(([name, value]) => ({ where: `${where}.env.${name}`, value }));
  }
  const found = urlSecrets(`${where}.url`, spec.url);
  for (const [name, value] of Object.entries(spec.headers)) {
    if (!SECRET_HEADERS.has(name.toLowerCase()) && !isSecretName(name)) continue;
    const at = `${where}.headers.${name}`;
    found.push({ where: at, value });
    // "Bearer <token>": the token alone is what an agent is likely to print.
    const credentials = /^[A-Za-z][\w-]*\s+(\S.*)$/.exec(value)?.[1];
    if (name.toLowerCase().endsWith('authorization') && credentials)
      found.push({ where: at, value: credentials });
  }
  return found;
}

/** A password in the URL's user info and secret-looking query parameters (`?api_key=…`). */
function urlSecrets(where: string, url: string): Secret[] {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return [];
  }
  // Both spellings: an agent may print the URL (percent-encoded) or the value it stands for.
  const values: string[] = [];
  if (parsed.password) values.push(parsed.password, decoded(parsed.password));
  for (const [name, value] of parsed.searchParams)
    if (isSecretName(name)) values.push(value, encodeURIComponent(value));
  return [...new Set(values)].map((value) => ({ where, value }));
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Values of secret-looking server environment variables an agent receives through `pass_env`. */
function passedSecrets(config: ForgeConfig, env: Record<string, string | undefined>): Secret[] {
  return Object.entries(config.agents).flatMap(([name, agent]) =>
    Object.entries(passedEnv(agent, env))
      .filter(([variable]) => isSecretName(variable))
      .map(([variable, value]) => ({
        where: `agents.${name}.pass_env: ${variable} (from the server environment)`,
        value,
      })),
  );
}

/** One message per place holding a secret too short to redact. */
export function tooShort(secrets: Secret[]): string[] {
  const places = secrets.filter((s) => s.value.length < MIN_SECRET_LENGTH).map((s) => s.where);
  return [...new Set(places)].map(
    (where) =>
      `${where}: a secret must be at least ${MIN_SECRET_LENGTH} characters so it can be redacted safely; use a longer value`,
  );
}

/**
 * Every secret to redact, longest first (so a secret containing another is redacted whole), and
 * the problems that must stop the server from starting: secrets too short to redact, including
 * `pass_env` values, which only the environment at start-up knows.
 */
export function collectSecrets(
  config: ForgeConfig,
  env: Record<string, string | undefined>,
): { secrets: string[]; problems: string[] } {
  const all = [...configSecrets(config), ...passedSecrets(config, env)];
  const secrets = [
    ...new Set(all.map((s) => s.value).filter((v) => v.length >= MIN_SECRET_LENGTH)),
  ].sort((a, b) => b.length - a.length);
  return { secrets, problems: tooShort(all) };
}
