/**
 * What a chat message to the bot asks for: a command and its argument, and for a task the
 * settings picked by leading `key=value` words (`repo=web budget=2 fix the login page`).
 * Pure: the bot replies with the errors, which are plain text.
 */
import { parseDuration } from '../domain/duration.ts';

/** Settings a chat message may pick for its job, named as in the submit request. */
export interface JobOptions {
  repo?: string;
  profile?: string;
  agent?: string;
  model?: string;
  budget_usd?: number;
  max_turns?: number;
  max_duration?: string;
  base_branch?: string;
}

export type ParsedTask =
  { ok: true; task: string; options: JobOptions } | { ok: false; error: string };

/** The keys a message may use, as people type them. */
export const OPTION_KEYS = [
  'repo',
  'profile',
  'agent',
  'model',
  'budget',
  'max_turns',
  'max_duration',
  'base_branch',
] as const;
type OptionKey = (typeof OPTION_KEYS)[number];

const ALLOWED = `allowed: ${OPTION_KEYS.map((k) => `${k}=…`).join(' ')}`;
const OPTION_WORD = /^([A-Za-z_][A-Za-z0-9_]*)=(\S*)(?:\s+|$)/;

/** Splits `/name@bot rest` into the command's name (lower case) and its argument; null for text
 *  that is not a command. */
export function parseCommand(text: string): { name: string; args: string } | null {
  const match = /^\/([A-Za-z0-9_]+)(?:@\w+)?(?:\s+([\s\S]*))?$/.exec(text.trim());
  if (!match) return null;
  return { name: match[1]!.toLowerCase(), args: (match[2] ?? '').trim() };
}

/** Reads leading `key=value` words as options; the rest is the task. Never throws. */
export function parseTask(text: string): ParsedTask {
  const options: JobOptions = {};
  let rest = text.trim();
  for (let match = OPTION_WORD.exec(rest); match; match = OPTION_WORD.exec(rest)) {
    const problem = applyOption(options, match[1]!, match[2]!);
    if (problem) return { ok: false, error: problem };
    rest = rest.slice(match[0].length);
  }
  if (rest === '') return { ok: false, error: 'say what to do, e.g. /run fix the failing test' };
  return { ok: true, task: rest, options };
}

/** Writes options as the leading words `parseTask` reads back. */
export function formatOptions(options: JobOptions): string {
  const words: string[] = [];
  for (const key of OPTION_KEYS) {
    const value = key === 'budget' ? options.budget_usd : options[key];
    if (value !== undefined) words.push(`${key}=${String(value)}`);
  }
  return words.join(' ');
}

function applyOption(options: JobOptions, key: string, value: string): string | null {
  if (!(OPTION_KEYS as readonly string[]).includes(key))
    return `unknown option "${key}"; ${ALLOWED}`;
  if (value === '') return `${key}= needs a value`;
  switch (key as OptionKey) {
    case 'budget': {
      const budget = Number(value);
      if (!Number.isFinite(budget) || budget <= 0) {
        return `budget=${value} is not an amount of dollars; use e.g. budget=2.5`;
      }
      options.budget_usd = budget;
      return null;
    }
    case 'max_turns': {
      const turns = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
      if (!(turns >= 1 && turns <= 10_000)) {
        return `max_turns=${value} is not a whole number from 1 to 10000`;
      }
      options.max_turns = turns;
      return null;
    }
    case 'max_duration': {
      const ms = parseDuration(value);
      if (ms === null || ms <= 0)
        return `max_duration=${value} is not a duration; use e.g. 30m, 2h`;
      options.max_duration = value;
      return null;
    }
    default:
      options[key as 'repo' | 'profile' | 'agent' | 'model' | 'base_branch'] = value;
      return null;
  }
}
