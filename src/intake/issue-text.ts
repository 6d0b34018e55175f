/**
 * An issue's words as a task: directives read from HTML comments (`<!-- forge:budget 2.50 -->`),
 * and the prompt made safe. Issue text is written by people Forge does not trust: what a reader
 * of the rendered issue cannot see (HTML comments, zero-width, bidirectional and tag characters)
 * never reaches the agent, so an instruction cannot hide there.
 */
import { parseDuration } from '../domain/duration.ts';

/** What directives may set, by their name in the issue. */
export interface Directives {
  model?: string;
  budget_usd?: number;
  profile?: string;
  agent?: string;
  repo?: string;
  base_branch?: string;
  max_turns?: number;
  max_duration?: string;
  draft?: boolean;
}

export type DirectiveName =
  | 'model'
  | 'budget'
  | 'profile'
  | 'agent'
  | 'repo'
  | 'base_branch'
  | 'max_turns'
  | 'max_duration'
  | 'draft';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

/** Each directive: what it sets, from a value, or a problem that says what is allowed. */
const PARSERS: Record<DirectiveName, (value: string) => Partial<Directives> | string> = {
  model: (v) => (/^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,199}$/.test(v) ? { model: v } : 'a model name'),
  budget: (v) =>
    /^\d{1,6}(\.\d{1,4})?$/.test(v) && Number(v) > 0
      ? { budget_usd: Number(v) }
      : 'an amount in USD above 0, e.g. 2.50',
  profile: (v) => (NAME.test(v) ? { profile: v } : 'a profile name under profiles:'),
  agent: (v) => (NAME.test(v) ? { agent: v } : 'an agent name under agents:'),
  repo: (v) => (NAME.test(v) ? { repo: v } : 'a repository name under repos:'),
  base_branch: (v) =>
    /^(?!\/|.*\/\/|.*\/$|.*\.\.|.*@\{|.*\.lock$|.*\.$)[A-Za-z0-9._/-]{1,250}$/.test(v)
      ? { base_branch: v }
      : 'a branch name',
  max_turns: (v) =>
    /^\d{1,5}$/.test(v) && Number(v) >= 1 ? { max_turns: Number(v) } : 'a whole number from 1',
  max_duration: (v) =>
    (parseDuration(v) ?? 0) > 0 ? { max_duration: v } : 'a duration, e.g. 30m or 2h',
  draft: (v) =>
    /^(|true|yes)$/i.test(v)
      ? { draft: true }
      : /^(false|no)$/i.test(v)
        ? { draft: false }
        : 'true or false',
};

export const DIRECTIVE_NAMES = Object.keys(PARSERS) as DirectiveName[];

export type IssueTask =
  { ok: true; prompt: string; directives: Directives } | { ok: false; problems: string[] };

// An HTML comment, or an unterminated one, which hides the rest of the text when rendered.
const COMMENT = /<!--[\s\S]*?(?:-->|$)/g;
// Any comment that starts with `forge:` is meant as a directive: `forge:NAME [VALUE]`.
const DIRECTIVE = /^<!--\s*forge:(\S*)\s*([\s\S]*?)\s*(?:-->)?$/i;
// Characters a reader does not see: zero-width and joiners, word joiner and invisible operators,
// the byte-order mark, soft hyphen, bidirectional embeddings, overrides, isolates and marks, the
// Arabic letter mark, and the Unicode tag block (used to smuggle invisible ASCII).
const INVISIBLE =
  /[\u00AD\u061C\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u206F\uFEFF]|\uDB40[\uDC00-\uDC7F]/g;

/** Removes what a reader of the rendered text cannot see. Idempotent. */
export function visibleText(text: string): string {
  let out = text.replace(/\r\n?/g, '\n').replace(INVISIBLE, '');
  // Removing a comment can join `<!` and `--` around it into a new one: repeat until stable.
  for (let before = ''; before !== out;) {
    before = out;
    out = out.replace(COMMENT, '').replace(INVISIBLE, '');
  }
  return out;
}

/**
 * Reads an issue as a task: the directives in its body, and the prompt (title and body, without
 * directives or anything invisible). Every unknown, repeated or invalid directive is a problem,
 * named with what is allowed. Whether a directive's value is within the caps is the submit rules'
 * business (they refuse anything above the profile and limits).
 */
export function readIssue(title: string, body: string): IssueTask {
  const problems: string[] = [];
  const directives: Directives = {};
  const seen = new Set<string>();
  const cleanBody = body.replace(/\r\n?/g, '\n').replace(INVISIBLE, '');
  for (const match of cleanBody.matchAll(COMMENT)) {
    const d = DIRECTIVE.exec(match[0]);
    if (!d) continue;
    const name = d[1]!.toLowerCase();
    const value = d[2]!;
    if (!(name in PARSERS)) {
      problems.push(
        `unknown directive forge:${name.slice(0, 40)}; allowed: ${DIRECTIVE_NAMES.map((n) => `forge:${n}`).join(', ')}`,
      );
      continue;
    }
    if (seen.has(name)) {
      problems.push(`forge:${name} is given more than once; keep one`);
      continue;
    }
    seen.add(name);
    const parsed = PARSERS[name as DirectiveName](value);
    if (typeof parsed === 'string')
      problems.push(`forge:${name} "${value.slice(0, 60)}" is not valid: give ${parsed}`);
    else Object.assign(directives, parsed);
  }
  if (problems.length > 0) return { ok: false, problems };
  const prompt = [visibleText(title).trim(), visibleText(body).trim()].filter(Boolean).join('\n\n');
  if (prompt === '')
    return { ok: false, problems: ['the issue has no visible title or text to work on'] };
  return { ok: true, prompt, directives };
}
