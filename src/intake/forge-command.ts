/**
 * The `/forge …` commands people write in issue and pull request comments: `/forge cancel`,
 * `/forge retry`, and any other `/forge <instruction>`, which asks for a follow-up. Read from
 * the comment's visible text (see `visibleText`), at its start.
 */
export type ForgeCommand = { kind: 'cancel' | 'retry' } | { kind: 'instruction'; text: string };

const COMMAND = /^\s*\/forge\s+(cancel|retry)\b/i;
const INSTRUCTION = /^\s*\/forge\s+(\S[\s\S]*)$/i;

/** The command `text` starts with, or null when it is none. */
export function readCommand(text: string): ForgeCommand | null {
  const command = COMMAND.exec(text)?.[1]?.toLowerCase();
  if (command === 'cancel') return { kind: 'cancel' };
  if (command === 'retry') return { kind: 'retry' };
  const instruction = INSTRUCTION.exec(text)?.[1]?.trim();
  return instruction ? { kind: 'instruction', text: instruction } : null;
}
