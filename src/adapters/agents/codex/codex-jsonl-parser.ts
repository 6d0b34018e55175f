/**
 * Reads `codex exec --json` output as it arrives. Each stdout line is one event: `thread.started`,
 * `turn.started`, `item.started` / `item.updated` / `item.completed` (agent messages, reasoning,
 * commands, file changes, MCP calls, …), `turn.completed` with token usage, `turn.failed`, and
 * `error`. Codex's stderr is merged into the same stream by the sandbox, so lines that are not
 * JSON events pass through as printed.
 *
 * Codex reports tokens, not dollars: cost comes from the agent's price table. Usage only arrives
 * with `turn.completed` (one per `codex exec` run), so Forge's budget check sees it at the end of
 * the run, not per model request.
 */
import { relative, isAbsolute } from 'node:path';
import type { AgentConfig } from '../agent-config.ts';
import { failure, type Failure } from '../../../domain/failure.ts';
import type { AgentReport, OutputParser } from '../../../ports/agent.ts';
import { safeSessionId } from '../session-id.ts';

export type CodexPrices = Extract<AgentConfig, { kind: 'codex' }>['prices'];

export interface CodexParserOptions {
  /** The agent's name under `agents:` (for messages). */
  agent: string;
  /** The model Codex was told to use, or null when it picks its own (then cost is unknown). */
  model: string | null;
  prices: CodexPrices;
  /** The environment variable holding the model API key, named in auth failures. */
  envKey: string;
  /** File paths under it are shown relative to it. */
  workspace?: string;
}

interface Usage {
  input_tokens?: number;
  cached_input_tokens?: number;
  output_tokens?: number;
}

type Item = { id?: string; type?: string } & Record<string, unknown>;

/** Command output beyond this many lines is elided in the log (the agent saw all of it). */
const MAX_OUTPUT_LINES = 20;
const MAX_REASONING_CHARS = 200;

export function createCodexParser(opts: CodexParserOptions): OutputParser {
  const price = opts.model === null ? undefined : opts.prices[opts.model];
  let turns = 0;
  let cost = 0;
  let failed = false;
  /** A fatal-looking `error` event not yet followed by `turn.failed` or `turn.completed`. */
  let pendingError: string | null = null;
  const shownCommands = new Set<string>();

  const fail = (message: string): AgentReport => {
    failed = true;
    pendingError = null;
    return { failure: classify(message, opts) };
  };

  function onTurnCompleted(usage: Usage | undefined): { display: string[]; report: AgentReport } {
    turns += 1;
    pendingError = null;
    const display: string[] = [];
    if (!price) {
      // Said once: every later turn would repeat it.
      if (turns === 1) display.push(noPriceNotice(opts));
      return { display, report: { turns } };
    }
    const input = usage?.input_tokens ?? 0;
    const cached = Math.min(usage?.cached_input_tokens ?? 0, input);
    const output = usage?.output_tokens ?? 0;
    // OpenAI counts cached tokens inside input_tokens; they are billed at the cached rate when one
    // is configured.
    cost +=
      ((input - cached) * price.input_per_mtok +
        cached * (price.cached_input_per_mtok ?? price.input_per_mtok) +
        output * price.output_per_mtok) /
      1e6;
    display.push(
      `[forge] turn ${turns}: ${input} input tokens (${cached} cached), ${output} output tokens; cost so far $${cost.toFixed(4)}`,
    );
    return { display, report: { turns, cost_usd: cost } };
  }

  function onItem(
    phase: 'started' | 'updated' | 'completed',
    item: Item,
  ): { display: string[]; report?: AgentReport } {
    switch (item.type) {
      case 'agent_message': {
        if (phase !== 'completed') return { display: [] };
        const text = str(item.text);
        return {
          display: text.split('\n'),
          report: text.trim() ? { summary: text.trim() } : undefined,
        };
      }
      case 'command_execution':
        return { display: commandLines(phase, item, shownCommands) };
      case 'reasoning':
        return { display: phase === 'completed' ? [`(thinking) ${brief(str(item.text))}`] : [] };
      case 'file_change':
        return { display: phase === 'completed' ? fileChangeLines(item, opts.workspace) : [] };
      case 'mcp_tool_call':
        return { display: mcpLines(phase, item) };
      case 'web_search':
        return { display: phase === 'completed' ? [`search: ${str(item.query)}`] : [] };
      case 'todo_list':
        return { display: phase === 'completed' ? todoLines(item) : [] };
      case 'error':
        // Non-fatal notices (e.g. "model metadata not found"); fatal errors come as events.
        return { display: phase === 'completed' ? [`[codex] warning: ${str(item.message)}`] : [] };
      default:
        return { display: phase === 'completed' ? [`[codex] ${item.type ?? 'item'}`] : [] };
    }
  }

  return {
    line(raw) {
      const event = parseEvent(raw);
      if (!event) return { display: [raw] };
      switch (event.type) {
        case 'thread.started': {
          const sessionId = safeSessionId(event.thread_id);
          return sessionId ? { display: [], report: { session_id: sessionId } } : { display: [] };
        }
        case 'turn.started':
          return { display: [] };
        case 'item.started':
        case 'item.updated':
        case 'item.completed':
          return onItem(
            event.type.slice(5) as 'started' | 'updated' | 'completed',
            (event.item ?? {}) as Item,
          );
        case 'turn.completed':
          return onTurnCompleted(event.usage as Usage | undefined);
        case 'turn.failed': {
          const message =
            str((event.error as { message?: unknown } | undefined)?.message) ||
            pendingError ||
            'the turn failed';
          // Codex usually prints the same message as an `error` event just before.
          const display = message === pendingError ? [] : [`[codex] turn failed: ${message}`];
          return { display, report: fail(message) };
        }
        case 'error': {
          const message = str(event.message);
          // Codex retries transient API errors itself and says so with these; they are not fatal.
          if (/^Reconnecting\b/.test(message)) return { display: [`[codex] ${message}`] };
          pendingError = message;
          return { display: [`[codex] error: ${message}`] };
        }
        default:
          return { display: [] };
      }
    },
    finish() {
      // An error with neither a failed nor a completed turn after it (Codex quit on it).
      if (pendingError !== null && !failed) return fail(pendingError);
      return undefined;
    },
  };
}

function parseEvent(raw: string): ({ type: string } & Record<string, unknown>) | null {
  if (!raw.startsWith('{')) return null;
  try {
    const value: unknown = JSON.parse(raw);
    if (
      value &&
      typeof value === 'object' &&
      typeof (value as { type?: unknown }).type === 'string'
    ) {
      return value as { type: string } & Record<string, unknown>;
    }
  } catch {
    // not an event
  }
  return null;
}

/** Which failure a Codex error message means, worded for the person who must act on it. */
export function classify(raw: string, opts: Pick<CodexParserOptions, 'agent' | 'envKey'>): Failure {
  const message = apiMessage(raw);
  if (
    /\b401\b|unauthori[sz]ed|invalid[_ ]api[_ ]key|incorrect api key|missing environment variable|authentication/i.test(
      message,
    )
  ) {
    return failure(
      'auth',
      `the model API refused Codex's credentials (${message}); set ${opts.envKey} in the Forge server's environment to a valid API key (agents.${opts.agent})`,
    );
  }
  if (
    /status:? (?:429|5\d\d)\b|too many requests|rate.?limit|overloaded|high demand|exceeded retry limit|stream disconnected|timed? ?out/i.test(
      message,
    )
  ) {
    return failure(
      'agent_error',
      `the model API is rate-limited or unavailable (${message}); Forge retries the attempt while retries are left`,
    );
  }
  return failure('agent_error', `codex failed: ${message}`);
}

/** Codex passes some API error bodies through as raw JSON; their `error.message` is what to read. */
function apiMessage(raw: string): string {
  if (!raw.startsWith('{')) return raw;
  try {
    const message = (JSON.parse(raw) as { error?: { message?: unknown } }).error?.message;
    return typeof message === 'string' && message ? message : raw;
  } catch {
    return raw;
  }
}

function noPriceNotice(opts: CodexParserOptions): string {
  const which =
    opts.model === null ? 'no model is configured' : `there is no price for model "${opts.model}"`;
  return `[forge] cost unknown: ${which} in agents.${opts.agent}.prices, so the budget cannot be enforced for this agent`;
}

function commandLines(phase: string, item: Item, shown: Set<string>): string[] {
  const id = item.id ?? '';
  const lines: string[] = [];
  if (!shown.has(id)) {
    shown.add(id);
    lines.push(`$ ${unwrapShell(str(item.command))}`);
  }
  if (phase !== 'completed') return lines;
  const output = str(item.aggregated_output).replace(/\n$/, '');
  if (output) {
    const all = output.split('\n');
    const kept = all.slice(-MAX_OUTPUT_LINES);
    if (all.length > kept.length) lines.push(`  … ${all.length - kept.length} earlier lines`);
    lines.push(...kept.map((l) => `  ${l}`));
  }
  if (item.status === 'declined') lines.push('  (declined)');
  else if (typeof item.exit_code === 'number' && item.exit_code !== 0)
    lines.push(`  (exit ${item.exit_code})`);
  return lines;
}

function fileChangeLines(item: Item, workspace: string | undefined): string[] {
  const changes = Array.isArray(item.changes)
    ? (item.changes as Array<{ path?: unknown; kind?: unknown }>)
    : [];
  const verbs: Record<string, string> = { add: 'added', delete: 'deleted', update: 'edited' };
  const lines = changes.map((c) => {
    let path = str(c.path);
    if (workspace && isAbsolute(path)) {
      const rel = relative(workspace, path);
      if (!rel.startsWith('..')) path = rel;
    }
    return `${verbs[str(c.kind)] ?? 'changed'} ${path}`;
  });
  if (item.status === 'failed') lines.push('  (patch failed)');
  return lines;
}

function mcpLines(phase: string, item: Item): string[] {
  const call = `${str(item.server)}.${str(item.tool)}`;
  if (phase === 'started') return [`mcp ${call}`];
  if (phase !== 'completed') return [];
  const error = str((item.error as { message?: unknown } | null)?.message);
  return error ? [`  mcp ${call} failed: ${error}`] : [];
}

function todoLines(item: Item): string[] {
  const items = Array.isArray(item.items)
    ? (item.items as Array<{ text?: unknown; completed?: unknown }>)
    : [];
  return ['plan:', ...items.map((t) => `  [${t.completed === true ? 'x' : ' '}] ${str(t.text)}`)];
}

function brief(text: string): string {
  const flat = text.replace(/\*\*/g, '').replace(/\s+/g, ' ').trim();
  return flat.length > MAX_REASONING_CHARS ? `${flat.slice(0, MAX_REASONING_CHARS)}…` : flat;
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** Codex runs commands as `/bin/bash -lc '<cmd>'`; people want to read `<cmd>`. */
export function unwrapShell(command: string): string {
  const match = /^(?:\S*\/)?(?:ba|z)?sh -l?c (.+)$/s.exec(command);
  if (!match) return command;
  return unquoteWord(match[1]!) ?? command;
}

/** The value of one POSIX shell word made of quoted and plain parts, or null if it is not one
 *  word (then the command is shown as Codex printed it). */
function unquoteWord(word: string): string | null {
  let out = '';
  let i = 0;
  while (i < word.length) {
    const ch = word[i]!;
    if (ch === "'") {
      const end = word.indexOf("'", i + 1);
      if (end < 0) return null;
      out += word.slice(i + 1, end);
      i = end + 1;
    } else if (ch === '"') {
      let j = i + 1;
      for (; j < word.length && word[j] !== '"'; j++) {
        if (word[j] === '\\' && '"\\$`'.includes(word[j + 1] ?? '')) j++;
        out += word[j];
      }
      if (j >= word.length) return null;
      i = j + 1;
    } else if (ch === '\\') {
      out += word[i + 1] ?? '';
      i += 2;
    } else if (/\s/.test(ch)) {
      return null;
    } else {
      out += ch;
      i++;
    }
  }
  return out;
}
