// The recordings in testdata/ are the merged stdout+stderr of the real `codex exec --json`
// (codex-cli 0.169.0) run against test/support/fake-openai.ts, in a workspace at /tmp/cx/ws.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AgentReport } from '../../../ports/agent.ts';
import { createCodexParser, unwrapShell, type CodexParserOptions } from './codex-jsonl-parser.ts';

const PRICES = {
  'gpt-test': { input_per_mtok: 2, output_per_mtok: 10, cached_input_per_mtok: 0.5 },
};
const OPTIONS: CodexParserOptions = {
  agent: 'codex',
  model: 'gpt-test',
  prices: PRICES,
  envKey: 'FAKE_OPENAI_KEY',
  workspace: '/tmp/cx/ws',
};

function recording(name: string): string[] {
  return readFileSync(join(import.meta.dirname, 'testdata', `${name}.jsonl`), 'utf8')
    .trimEnd()
    .split('\n');
}

/** Feeds every line and merges the reports the way run-attempt does. */
function parse(
  lines: string[],
  opts: CodexParserOptions = OPTIONS,
): { display: string[]; report: AgentReport; reports: AgentReport[] } {
  const parser = createCodexParser(opts);
  const display: string[] = [];
  const report: AgentReport = {};
  const reports: AgentReport[] = [];
  for (const raw of lines) {
    const out = parser.line(raw);
    display.push(...out.display);
    if (out.report) {
      reports.push(out.report);
      Object.assign(report, out.report);
    }
  }
  const last = parser.finish?.();
  if (last) Object.assign(report, last);
  return { display, report, reports };
}

describe('codex exec --json parser', () => {
  it('turns a successful run into readable lines, with session, summary, turns and cost', () => {
    const { display, report } = parse(recording('success'));
    expect(display).toEqual([
      expect.stringMatching(/^WARNING: proceeding/) as string,
      'Reading additional input from stdin...',
      '[codex] warning: Model metadata for `gpt-test` not found. Defaulting to fallback metadata; this can degrade performance and cause issues.',
      '(thinking) Planning the change I need to create a file and check it.',
      "I'll create the file, then check it.",
      '$ echo hello > made.txt && cat made.txt',
      '  hello',
      'added notes.md',
      '$ ls missing-dir',
      "  ls: cannot access 'missing-dir': No such file or directory",
      '  (exit 2)',
      'Created made.txt and notes.md.',
      'The missing directory does not exist.',
      '[forge] turn 1: 6300 input tokens (5100 cached), 200 output tokens; cost so far $0.0069',
    ]);
    expect(display.join('\n')).not.toContain('{"type"');
    // 1,200 uncached input at $2, 5,100 cached at $0.50 and 200 output at $10 per million tokens.
    expect(report.cost_usd).toBeCloseTo((1200 * 2 + 5100 * 0.5 + 200 * 10) / 1e6, 12);
    expect(report).toMatchObject({
      turns: 1,
      session_id: '01a20218-8169-7360-bbde-5bd73ee2468e',
      summary: 'Created made.txt and notes.md.\nThe missing directory does not exist.',
    });
    expect(report.failure).toBeUndefined();
  });

  it('charges cached input at the input price when the model has no cached price', () => {
    const prices = { 'gpt-test': { input_per_mtok: 2, output_per_mtok: 10 } };
    const { report } = parse(recording('success'), { ...OPTIONS, prices });
    expect(report.cost_usd).toBeCloseTo((6300 * 2 + 200 * 10) / 1e6, 12);
  });

  it('leaves cost unknown for a model without a price and says so once', () => {
    const lines = recording('success');
    const turnCompleted = lines.at(-1)!;
    const { display, report } = parse([...lines, turnCompleted], {
      ...OPTIONS,
      model: 'gpt-unpriced',
    });
    expect(report.cost_usd).toBeUndefined();
    expect(report.turns).toBe(2);
    const notices = display.filter((l) => l.includes('cost unknown'));
    expect(notices).toEqual([
      '[forge] cost unknown: there is no price for model "gpt-unpriced" in agents.codex.prices, so the budget cannot be enforced for this agent',
    ]);
  });

  it('reports the attempt total, not the increment, after each turn', () => {
    const lines = recording('success');
    const { reports } = parse([...lines, lines.at(-1)!]);
    const costs = reports.filter((r) => r.cost_usd !== undefined).map((r) => r.cost_usd!);
    expect(costs).toHaveLength(2);
    expect(costs[1]).toBeCloseTo(costs[0]! * 2, 12);
  });

  it('maps 401 to auth naming the variable to set, and shows the retries readably', () => {
    const { display, report } = parse(recording('401'));
    expect(report.failure?.category).toBe('auth');
    expect(report.failure?.message).toContain('set FAKE_OPENAI_KEY');
    expect(report.failure?.message).toContain('Incorrect API key provided');
    expect(display.filter((l) => l.startsWith('[codex] Reconnecting... '))).toHaveLength(5);
    expect(display.filter((l) => l.includes('error: unexpected status 401'))).toHaveLength(1);
  });

  it('maps a missing API key variable to auth', () => {
    const { report } = parse(recording('missing-key'));
    expect(report.failure).toEqual({
      category: 'auth',
      message: expect.stringContaining('set FAKE_OPENAI_KEY') as string,
    });
  });

  it.each(['429', '500', '503'])(
    'maps %s to a retryable agent_error about the model API',
    (name) => {
      const { report } = parse(recording(name));
      expect(report.failure?.category).toBe('agent_error');
      expect(report.failure?.message).toMatch(/^the model API is rate-limited or unavailable/);
    },
  );

  it('maps another API error to agent_error with the API message, not its JSON', () => {
    const { report } = parse(recording('400'));
    expect(report.failure).toEqual({
      category: 'agent_error',
      message: 'codex failed: The model `gpt-test` does not exist or you do not have access to it.',
    });
  });

  it('does not fail on Reconnecting notices that are followed by a completed turn', () => {
    const [, , ...rest] = recording('success');
    const reconnect =
      '{"type":"error","message":"Reconnecting... 1/5 (stream disconnected before completion)"}';
    const { report } = parse([reconnect, ...rest]);
    expect(report.failure).toBeUndefined();
    expect(report.turns).toBe(1);
  });

  it('fails at the end on an error that no turn event followed', () => {
    const { report } = parse([
      '{"type":"thread.started","thread_id":"t"}',
      '{"type":"error","message":"something broke"}',
    ]);
    expect(report.failure).toEqual({
      category: 'agent_error',
      message: 'codex failed: something broke',
    });
  });

  it('passes lines that are not events through unchanged', () => {
    const parser = createCodexParser(OPTIONS);
    expect(parser.line('plain text')).toEqual({ display: ['plain text'] });
    expect(parser.line('{not json')).toEqual({ display: ['{not json'] });
    expect(parser.line('{"no":"type"}')).toEqual({ display: ['{"no":"type"}'] });
  });

  it('shows MCP calls, todo lists and unknown items briefly', () => {
    const { display } = parse([
      '{"type":"item.started","item":{"id":"i1","type":"mcp_tool_call","server":"docs","tool":"search","arguments":{},"result":null,"error":null,"status":"in_progress"}}',
      '{"type":"item.completed","item":{"id":"i1","type":"mcp_tool_call","server":"docs","tool":"search","arguments":{},"result":null,"error":{"message":"timeout"},"status":"failed"}}',
      '{"type":"item.completed","item":{"id":"i2","type":"todo_list","items":[{"text":"read","completed":true},{"text":"write","completed":false}]}}',
      '{"type":"item.completed","item":{"id":"i3","type":"collab_tool_call"}}',
    ]);
    expect(display).toEqual([
      'mcp docs.search',
      '  mcp docs.search failed: timeout',
      'plan:',
      '  [x] read',
      '  [ ] write',
      '[codex] collab_tool_call',
    ]);
  });

  it.each([
    ['a path', '../../etc/passwd'],
    ['a newline', '0199a213-81c0\n--yolo'],
    ['10 KB', 'a'.repeat(10_000)],
  ])('ignores a thread id that is %s', (_what, hostile) => {
    const { report } = parse([JSON.stringify({ type: 'thread.started', thread_id: hostile })]);
    expect(report.session_id).toBeUndefined();
  });
});

describe('unwrapShell', () => {
  it('shows the command inside bash -lc quoting', () => {
    expect(unwrapShell("/bin/bash -lc 'echo hello > made.txt'")).toBe('echo hello > made.txt');
    expect(unwrapShell(`/bin/bash -lc 'echo '"'"'quoted'"'"''`)).toBe("echo 'quoted'");
    expect(unwrapShell("bash -c 'ls'")).toBe('ls');
  });

  it('leaves anything else as Codex printed it', () => {
    expect(unwrapShell('git status')).toBe('git status');
    expect(unwrapShell("/bin/bash -lc 'a' 'b'")).toBe("/bin/bash -lc 'a' 'b'");
  });
});
