/**
 * `/run repo=app profile=code-fix budget=2 <task>`: leading `key=value` words pick a job's options,
 * the rest is the task. Only the keys an issue directive may set are accepted, each checked for
 * shape here; whether a value is within the caps is the submit rules' business, as for the API.
 */
import { parseDuration } from '../domain/duration.ts';

export const RUN_OPTION_KEYS = [
  'repo',
  'profile',
  'agent',
  'model',
  'budget',
  'max_turns',
  'max_duration',
  'base_branch',
] as const;
type Key = (typeof RUN_OPTION_KEYS)[number];

export type RunRequest =
  | { ok: true; task: string; options: Record<string, string | number> }
  | { ok: false; problem: string };

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.:/@-]{0,199}$/;
const CHECKS: Record<Key, (v: string) => [string, string | number] | string> = {
  repo: (v) => (NAME.test(v) ? ['repo', v] : 'a repository name'),
  profile: (v) => (NAME.test(v) ? ['profile', v] : 'a profile name'),
  agent: (v) => (NAME.test(v) ? ['agent', v] : 'an agent name'),
  model: (v) => (NAME.test(v) ? ['model', v] : 'a model name'),
  budget: (v) =>
    /^\d{1,6}(\.\d{1,4})?$/.test(v) && Number(v) > 0
      ? ['budget_usd', Number(v)]
      : 'an amount in USD, e.g. 2.50',
  max_turns: (v) =>
    /^\d{1,5}$/.test(v) && Number(v) >= 1 ? ['max_turns', Number(v)] : 'a whole number from 1',
  max_duration: (v) => ((parseDuration(v) ?? 0) > 0 ? ['max_duration', v] : 'a duration, e.g. 30m'),
  base_branch: (v) => (/^[A-Za-z0-9._/-]{1,250}$/.test(v) ? ['base_branch', v] : 'a branch name'),
};

export function parseRunRequest(text: string): RunRequest {
  const options: Record<string, string | number> = {};
  let rest = text.trim();
  for (;;) {
    const m = /^([A-Za-z_]+)=(\S*)(?:\s+|$)/.exec(rest);
    if (!m) break;
    const key = m[1]!.toLowerCase();
    if (!(RUN_OPTION_KEYS as readonly string[]).includes(key))
      return {
        ok: false,
        problem: `unknown option ${key.slice(0, 40)}=; allowed: ${RUN_OPTION_KEYS.join(', ')}`,
      };
    const checked = CHECKS[key as Key](m[2]!);
    if (typeof checked === 'string')
      return { ok: false, problem: `${key}=${m[2]!.slice(0, 60)} is not valid: give ${checked}` };
    options[checked[0]] = checked[1];
    rest = rest.slice(m[0].length);
  }
  if (rest.trim() === '')
    return {
      ok: false,
      problem: 'say what to do after the options, e.g. /run repo=app fix the flaky test',
    };
  return { ok: true, task: rest.trim(), options };
}
