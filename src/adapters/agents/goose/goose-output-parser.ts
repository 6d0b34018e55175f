import { stripVTControlCharacters } from 'node:util';
import { failure, type Failure } from '../../../domain/failure.ts';
import type { AgentReport, OutputParser } from '../../../ports/agent.ts';
import { safeSessionId } from '../session-id.ts';

/**
 * Reads `goose run`'s text output (what goose prints when stdout is not a terminal): a session
 * line (`● new session · <provider> <model>` then `<session id> · <dir>`), the model's text as
 * plain markdown, tool calls as `▸ <tool> <extension>` with indented parameters, and errors as
 * `Ran into this error: …` or `error: …`. Lines pass through with colours removed. At the end,
 * the last result block is read: a fenced ```json block the recipe asked for, or the single-line
 * JSON goose prints for a recipe with a `response.json_schema`.
 */
export interface GooseParserOptions {
  /** The agent's name under `agents:` (for messages). */
  agent: string;
  /** The provider goose will use, when Forge knows it. */
  provider: string | null;
  maxTurns: number | null;
}

/** goose's own sentence when it stops at its turn limit (agent.rs, MAX_TURNS_MESSAGE). */
const MAX_TURNS_TEXT = "I've reached the maximum number of actions I can do without user input";
const SESSION_LINE = /^\s*(\d{8}_\d+)\s+·/;
const ERROR_LINE = /^(Ran into this error:|error:)\s*(.+)$/;
const AUTH_TEXT = /authenticat|unauthori[sz]ed|\b40[13]\b|api[ _-]?key/i;
/** The result block is at the end; older lines are not kept. */
const KEEP_LINES = 400;

/** Credential variables each provider reads (goose's provider docs); empty for local providers. */
const PROVIDER_KEYS: Record<string, string[]> = {
  anthropic: ['ANTHROPIC_API_KEY'],
  openai: ['OPENAI_API_KEY'],
  google: ['GOOGLE_API_KEY'],
  openrouter: ['OPENROUTER_API_KEY'],
  aws_bedrock: ['AWS_PROFILE', 'AWS_ACCESS_KEY_ID', 'AWS_BEARER_TOKEN_BEDROCK'],
};

/** Variables of which one must be set for goose to reach `provider` (any common one when unknown). */
export function credentialVars(provider: string | null): string[] {
  if (!provider) return ['ANTHROPIC_API_KEY', 'OPENAI_API_KEY'];
  return PROVIDER_KEYS[provider] ?? [];
}

export function createGooseOutputParser(opts: GooseParserOptions): OutputParser {
  const recent: string[] = [];
  let sessionSeen = false;
  let failed = false;
  return {
    line(raw) {
      const text = clean(raw);
      recent.push(text);
      if (recent.length > KEEP_LINES) recent.shift();
      const report: AgentReport = {};
      const session = sessionSeen ? undefined : safeSessionId(SESSION_LINE.exec(text)?.[1]);
      if (session) {
        sessionSeen = true;
        report.session_id = session;
      }
      const fail = failed ? null : detectFailure(text.trim(), opts);
      if (fail) {
        failed = true;
        report.failure = fail;
      }
      return Object.keys(report).length > 0 ? { display: [text], report } : { display: [text] };
    },
    finish() {
      const summary = findResult(recent);
      return summary ? { summary } : undefined;
    },
  };
}

/** What a terminal would show: the text after the last carriage return, without escape codes. */
function clean(raw: string): string {
  const parts = raw.replace(/\r$/, '').split('\r');
  return stripVTControlCharacters(parts[parts.length - 1] ?? '');
}

/** Only goose's own framing counts: a tool's output that mentions an error must not fail a job. */
function detectFailure(text: string, opts: GooseParserOptions): Failure | null {
  if (text.startsWith(MAX_TURNS_TEXT)) {
    const limit = opts.maxTurns ? ` (max_turns ${opts.maxTurns})` : '';
    return failure(
      'max_turns',
      `goose stopped at its turn limit${limit} before finishing; raise max_turns in the profile or split the task`,
    );
  }
  const unset = /^No (provider|model) configured/.exec(text);
  if (unset) {
    const what = unset[1]!;
    return failure(
      'auth',
      `goose has no ${what}: set agents.${opts.agent}.${what} in forge.yaml or GOOSE_${what.toUpperCase()} in the server's environment`,
    );
  }
  const framed = ERROR_LINE.exec(text);
  if (!framed) return null;
  const said = framed[2]!.replace(
    /\s*Please retry if you think this is a transient or recoverable error\.?$/,
    '',
  );
  const missing = /Configuration value not found: ([A-Z][A-Z0-9_]*)/.exec(said);
  if (missing) {
    return failure(
      'auth',
      `goose needs ${missing[1]}: set it in the server's environment and list it in agents.${opts.agent}.pass_env`,
    );
  }
  if (AUTH_TEXT.test(said)) {
    const vars = credentialVars(opts.provider);
    const which =
      vars.length > 0 ? vars.join(' or ') : `the credentials of provider "${opts.provider}"`;
    return failure(
      'auth',
      `goose could not authenticate with ${opts.provider ?? 'its provider'}: check ${which} in the server's environment (passed through agents.${opts.agent}.pass_env); goose said: ${clip(said)}`,
    );
  }
  if (framed[1] === 'Ran into this error:')
    return failure('agent_error', `goose stopped on an error: ${clip(said)}`);
  return null;
}

function clip(text: string): string {
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

/** The last result block, scanning back from the end, as one summary line; null when none. */
function findResult(lines: string[]): string | null {
  for (let end = lines.length - 1; end >= 0; end--) {
    const line = lines[end]!.trim();
    let json: string | null = null;
    if (line === '```') {
      const start = lines.slice(0, end).findLastIndex((l) => /^```(json)?$/.test(l.trim()));
      if (start >= 0) json = lines.slice(start + 1, end).join('\n');
    } else if (line.startsWith('{') && line.endsWith('}')) {
      json = line;
    }
    const summary = json === null ? null : summarize(json);
    if (summary) return summary;
  }
  return null;
}

function summarize(json: string): string | null {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return null;
  }
  if (!value || typeof value !== 'object') return null;
  const { type, url, summary } = value as Record<string, unknown>;
  if (typeof summary !== 'string' || summary.trim() === '') return null;
  const kind = typeof type === 'string' && type ? `${type}: ` : '';
  const link = typeof url === 'string' && url ? ` (${url})` : '';
  return `${kind}${summary.trim()}${link}`;
}
