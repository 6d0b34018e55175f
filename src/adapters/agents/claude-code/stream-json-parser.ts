import { failure, type Failure } from '../../../domain/failure.ts';
import type { AgentReport, OutputParser } from '../../../ports/agent.ts';
import { safeSessionId } from '../session-id.ts';

/** USD per million tokens (the shape of `agents.<name>.prices` in forge.yaml). */
export interface ModelPrice {
  input_per_mtok: number;
  output_per_mtok: number;
  cached_input_per_mtok?: number;
}

/**
 * What Claude Code 2.1.330 itself charges (its `total_cost_usd`), measured against the scripted
 * model server one token kind at a time; cache writes cost 1.25× input for every model, as in
 * Anthropic's published pricing. Long-context surcharges are not modelled, so the running estimate
 * can be low for prompts over 200k tokens; the CLI's own total replaces it when the run ends.
 * A model missing here and from `prices` is estimated like the CLI's default model, which is also
 * what the CLI charges for names it does not know.
 */
const BUILT_IN_PRICES: Record<string, ModelPrice> = {
  'claude-fable-5-2': { input_per_mtok: 8, output_per_mtok: 40, cached_input_per_mtok: 0.2 },
  'claude-opus-5-5': { input_per_mtok: 4, output_per_mtok: 20, cached_input_per_mtok: 0.2 },
  'claude-sonnet-5-5': { input_per_mtok: 2, output_per_mtok: 10, cached_input_per_mtok: 0.1 },
  'claude-haiku-5-5': { input_per_mtok: 0.1, output_per_mtok: 0.5, cached_input_per_mtok: 0.01 },
  'claude-opus-4-6': { input_per_mtok: 5, output_per_mtok: 25, cached_input_per_mtok: 0.5 },
  'claude-opus-4-5': { input_per_mtok: 5, output_per_mtok: 25, cached_input_per_mtok: 0.5 },
  'claude-sonnet-4-6': { input_per_mtok: 3, output_per_mtok: 15, cached_input_per_mtok: 0.3 },
  'claude-sonnet-4-5': { input_per_mtok: 3, output_per_mtok: 15, cached_input_per_mtok: 0.3 },
  'claude-haiku-4-5': { input_per_mtok: 1, output_per_mtok: 5, cached_input_per_mtok: 0.1 },
};
const DEFAULT_PRICE = BUILT_IN_PRICES['claude-opus-5-5']!;

export interface StreamJsonParserOptions {
  /** The agent's name under `agents:`, for messages. */
  agent: string;
  /** Configured prices by model name (or name prefix); they win over the built-in table. */
  prices: Record<string, ModelPrice>;
}

type Json = Record<string, unknown>;
interface Usage {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  model: string;
}

const MAX_LINE = 160;
/** The runner cuts lines longer than 64 KiB into pieces; an event that long (a big Write, a Read
 *  result) arrives as unparseable pieces of about that size, joined here. */
const FRAGMENT_BYTES = 32 * 1024;
const MAX_JOINED = 64 * 1024 * 1024;

/** Exact name first, then the longest configured prefix (dated names like claude-sonnet-4-5-20250929). */
export function priceFor(model: string, configured: Record<string, ModelPrice>): ModelPrice {
  for (const table of [configured, BUILT_IN_PRICES]) {
    if (table[model]) return table[model];
    const prefix = Object.keys(table)
      .filter((k) => model.startsWith(k))
      .sort((a, b) => b.length - a.length)[0];
    if (prefix) return table[prefix]!;
  }
  return DEFAULT_PRICE;
}

function costOf(u: Usage, prices: Record<string, ModelPrice>): number {
  const p = priceFor(u.model, prices);
  const cached = p.cached_input_per_mtok ?? p.input_per_mtok * 0.1;
  return (
    (u.input * p.input_per_mtok +
      u.output * p.output_per_mtok +
      u.cacheRead * cached +
      u.cacheWrite * p.input_per_mtok * 1.25) /
    1e6
  );
}

const obj = (v: unknown): Json =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {};
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const oneLine = (text: string, max = MAX_LINE): string => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

/**
 * Reads `claude -p --output-format stream-json --verbose --include-partial-messages` line by
 * line: what the agent says and does becomes short readable lines, and its usage becomes a running
 * cost estimate (so Forge can stop a run that passes the budget before the CLI's own cap, which
 * only checks between turns). Partial-message events are needed for that: the `assistant` events
 * carry the usage of `message_start`, where output tokens are still 1; the true count arrives in
 * the `message_delta` stream event. The final `result` gives the CLI's own totals and outcome.
 */
export function createStreamJsonParser(opts: StreamJsonParserOptions): OutputParser {
  const usage = new Map<string, Usage>();
  const turns = new Set<string>();
  let cwd = '';
  let apiKeySource = '';
  let sawAuthError = false;
  let reportedCost = -1;

  /** Records usage for one API message; fields only grow (later events repeat or extend them). */
  function track(id: string, model: string, u: Json): void {
    if (!id || model === '<synthetic>') return;
    const prev = usage.get(id) ?? { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, model };
    usage.set(id, {
      model: model || prev.model,
      input: Math.max(prev.input, num(u.input_tokens) ?? 0),
      output: Math.max(prev.output, num(u.output_tokens) ?? 0),
      cacheRead: Math.max(prev.cacheRead, num(u.cache_read_input_tokens) ?? 0),
      cacheWrite: Math.max(prev.cacheWrite, num(u.cache_creation_input_tokens) ?? 0),
    });
  }

  function running(): AgentReport | undefined {
    let cost = 0;
    for (const u of usage.values()) cost += costOf(u, opts.prices);
    if (cost === reportedCost) return undefined;
    reportedCost = cost;
    return { cost_usd: cost, turns: turns.size };
  }

  function streamEvent(msg: Json): AgentReport | undefined {
    const event = obj(msg.event);
    if (event.type === 'message_start') {
      const message = obj(event.message);
      track(str(message.id), str(message.model), obj(message.usage));
    } else if (event.type === 'message_delta') {
      const id = str(msg.api_message_id);
      const known = usage.get(id);
      if (known) track(id, known.model, obj(event.usage));
    } else {
      return undefined;
    }
    return running();
  }

  function assistant(msg: Json): { display: string[]; report?: AgentReport } {
    const message = obj(msg.message);
    if (str(msg.error) === 'authentication_failed') sawAuthError = true;
    const indent = msg.parent_tool_use_id ? '  ' : '';
    const display: string[] = [];
    for (const block of Array.isArray(message.content) ? message.content : []) {
      const b = obj(block);
      if (b.type === 'text')
        display.push(
          ...str(b.text)
            .split('\n')
            .map((l) => indent + l),
        );
      else if (b.type === 'tool_use')
        display.push(`${indent}→ ${describeTool(str(b.name), obj(b.input), cwd)}`);
    }
    const id = str(message.id);
    if (str(message.model) === '<synthetic>') return { display };
    if (!msg.parent_tool_use_id && id) turns.add(id);
    track(id, str(message.model), obj(message.usage));
    const report = running();
    return report ? { display, report } : { display };
  }

  function system(msg: Json): { display: string[]; report?: AgentReport } {
    switch (msg.subtype) {
      case 'init': {
        cwd = str(msg.cwd);
        apiKeySource = str(msg.apiKeySource);
        const sessionId = safeSessionId(msg.session_id);
        const mcp = (Array.isArray(msg.mcp_servers) ? msg.mcp_servers : []).map(
          (m) => `${str(obj(m).name)} ${str(obj(m).status)}`,
        );
        const line = `claude-code ${str(msg.claude_code_version)} · model ${str(msg.model)} · session ${sessionId ?? '(none usable)'}${mcp.length ? ` · mcp: ${mcp.join(', ')}` : ''}`;
        return sessionId
          ? { display: [line], report: { session_id: sessionId } }
          : { display: [line] };
      }
      case 'api_retry':
        return {
          display: [
            `… model API error ${num(msg.error_status) ?? '?'} (${str(msg.error)}); retry ${num(msg.attempt) ?? '?'}/${num(msg.max_retries) ?? '?'}`,
          ],
        };
      case 'status':
        return { display: msg.status === 'compacting' ? ['… compacting the conversation'] : [] };
      case 'permission_denied':
        return { display: [`✗ ${oneLine(str(msg.message))}`] };
      default:
        return { display: [] };
    }
  }

  function result(msg: Json): { display: string[]; report: AgentReport } {
    const report: AgentReport = {};
    const cost = num(msg.total_cost_usd);
    const numTurns = num(msg.num_turns);
    if (cost !== null) report.cost_usd = cost;
    if (numTurns !== null) report.turns = numTurns;
    const sessionId = safeSessionId(msg.session_id);
    if (sessionId) report.session_id = sessionId;
    const fail = classify(msg, { agent: opts.agent, apiKeySource, sawAuthError });
    const totals = `${numTurns ?? '?'} turn${numTurns === 1 ? '' : 's'} · $${(cost ?? 0).toFixed(4)}`;
    if (fail) {
      report.failure = fail;
      return { display: [`✗ Claude Code stopped (${fail.category}) after ${totals}`], report };
    }
    if (str(msg.result)) report.summary = str(msg.result);
    return { display: [`✓ Claude Code finished after ${totals}`], report };
  }

  /** Joins the pieces of a line the runner split for length (see FRAGMENT_BYTES); null: parsed. */
  let pieces: string | null = null;

  return {
    line(raw) {
      const text = pieces === null ? raw : pieces + raw;
      let msg: Json;
      try {
        msg = obj(JSON.parse(text));
        pieces = null;
      } catch {
        const fragment =
          text.startsWith('{"') &&
          Buffer.byteLength(raw) >= FRAGMENT_BYTES &&
          text.length < MAX_JOINED;
        const dropped = pieces !== null && !fragment;
        pieces = fragment ? text : null;
        if (fragment) return { display: [] };
        return {
          display: [
            dropped
              ? `[forge] a stream-json line of ${text.length} characters could not be read and was left out`
              : raw,
          ],
        };
      }
      switch (msg.type) {
        case 'system':
          return system(msg);
        case 'assistant':
          return assistant(msg);
        case 'user':
          return { display: toolResults(msg) };
        case 'stream_event': {
          const report = streamEvent(msg);
          return report ? { display: [], report } : { display: [] };
        }
        case 'result':
          return result(msg);
        default:
          // Other event types (rate limits, hooks, suggestions) say nothing a person needs; a line
          // that is not an event at all is the CLI or a wrapper speaking: show it as printed.
          return typeof msg.type === 'string' ? { display: [] } : { display: [raw] };
      }
    },
  };
}

/** One line per tool call: the tool and the one argument that says what it does. */
export function describeTool(name: string, input: Json, cwd: string): string {
  const path = (p: string): string =>
    cwd && p.startsWith(`${cwd}/`) ? p.slice(cwd.length + 1) : p;
  const arg = (() => {
    switch (name) {
      case 'Bash':
        return `: ${str(input.command)}`;
      case 'Read':
      case 'Write':
      case 'Edit':
      case 'MultiEdit':
      case 'NotebookEdit':
        return ` ${path(str(input.file_path) || str(input.notebook_path))}`;
      case 'Grep':
      case 'Glob':
        return ` ${str(input.pattern)}${input.path ? ` in ${path(str(input.path))}` : ''}`;
      case 'WebFetch':
        return ` ${str(input.url)}`;
      case 'WebSearch':
        return ` ${str(input.query)}`;
      case 'Task':
      case 'Agent':
        return `: ${str(input.description) || str(input.prompt)}`;
      default: {
        const json = JSON.stringify(input);
        return json === '{}' ? '' : ` ${json}`;
      }
    }
  })();
  return oneLine(`${name}${arg}`);
}

/** A tool result in brief: `← ok`, or the error's first telling line. */
function toolResults(msg: Json): string[] {
  const content = obj(msg.message).content;
  const indent = msg.parent_tool_use_id ? '  ' : '';
  const lines: string[] = [];
  for (const block of Array.isArray(content) ? content : []) {
    const b = obj(block);
    if (b.type !== 'tool_result') continue;
    if (b.is_error !== true) {
      lines.push(`${indent}← ok`);
      continue;
    }
    const text =
      typeof b.content === 'string'
        ? b.content
        : (Array.isArray(b.content) ? b.content : []).map((c) => str(obj(c).text)).join('\n');
    // Bash failures start with "Exit code N"; the line after it says why.
    const useful = text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .slice(0, /^Exit code \d+$/.test(text.split('\n')[0] ?? '') ? 2 : 1);
    lines.push(`${indent}← error: ${oneLine(useful.join(' · '))}`);
  }
  return lines;
}

interface ClassifyContext {
  agent: string;
  apiKeySource: string;
  sawAuthError: boolean;
}

/** The failure a `result` reports, or undefined when it succeeded. An API error can arrive as
 *  `subtype: "success"` with `is_error: true`, so `is_error` decides, and the status says which. */
export function classify(msg: Json, ctx: ClassifyContext): Failure | undefined {
  const subtype = str(msg.subtype);
  if (msg.is_error !== true && !subtype.startsWith('error')) return undefined;
  const errors = Array.isArray(msg.errors) ? msg.errors.map(str).filter(Boolean) : [];
  const detail = oneLine(str(msg.result) || errors.join('; ') || subtype, 300);
  const status = num(msg.api_error_status);
  const type = str(msg.api_error_type);
  if (subtype === 'error_max_budget_usd') {
    return failure(
      'budget_exceeded',
      `Claude Code reached its spending cap (${detail}), set from the job's remaining budget; raise budget_usd to continue`,
    );
  }
  if (subtype === 'error_max_turns') {
    return failure(
      'max_turns',
      `the agent used up its turns without finishing (${detail}); raise max_turns or split the task`,
    );
  }
  const authText =
    /invalid x-api-key|invalid api key|not logged in|authentication|unauthori[sz]ed/i.test(detail);
  if (
    status === 401 ||
    status === 403 ||
    type === 'authentication_error' ||
    type === 'permission_error' ||
    ctx.sawAuthError ||
    authText
  ) {
    const lead =
      ctx.apiKeySource === 'none' || ctx.apiKeySource === ''
        ? `Claude Code found no model credentials ("${detail}")`
        : `the model API rejected the credential in ${ctx.apiKeySource} (${status ? `HTTP ${status}: ` : ''}${detail})`;
    return failure(
      'auth',
      `${lead}: set a valid ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN for a gateway) — or, for Amazon Bedrock, CLAUDE_CODE_USE_BEDROCK=1 with AWS_REGION and AWS credentials — in the server's environment or in agents.${ctx.agent}.env (a server variable reaches the agent only if agents.${ctx.agent}.pass_env, when set, names it)`,
    );
  }
  if (status === 529 || type === 'overloaded_error' || (status !== null && status >= 500)) {
    return failure(
      'agent_error',
      `the model API was overloaded or unavailable (HTTP ${status ?? '?'}: ${detail}); a retry may succeed`,
    );
  }
  if (status === 429 || type === 'rate_limit_error') {
    return failure(
      'agent_error',
      `the model API rate-limited the agent (HTTP 429: ${detail}); a retry may succeed`,
    );
  }
  return failure(
    'agent_error',
    `Claude Code reported an error (${subtype || 'is_error'}${status ? `, HTTP ${status}` : ''}): ${detail}`,
  );
}
