import { describe, expect, it } from 'vitest';
import { LineSplitter } from '../../../core/line-splitter.ts';
import type { AgentReport } from '../../../ports/agent.ts';
import {
  createStreamJsonParser,
  describeTool,
  priceFor,
  type ModelPrice,
} from './stream-json-parser.ts';

// The fixtures at the end of this file are lines printed by the real `claude` 2.1.330 (run with
// -p --output-format stream-json --verbose --include-partial-messages against
// test/support/fake-anthropic.ts), unedited; some runs leave out their long `init` line.

function feed(
  lines: string[],
  prices: Record<string, ModelPrice> = {},
): { display: string[]; reports: AgentReport[]; merged: AgentReport } {
  const parser = createStreamJsonParser({ agent: 'claude', prices });
  const display: string[] = [];
  const reports: AgentReport[] = [];
  for (const raw of lines) {
    const out = parser.line(raw);
    display.push(...out.display);
    if (out.report) reports.push(out.report);
  }
  return { display, reports, merged: Object.assign({}, ...reports) as AgentReport };
}

describe('claude stream-json parser', () => {
  it('turns a successful run into readable lines, tool calls included, and reports its totals', () => {
    const { display, merged } = feed(SUCCESS);
    expect(display).toEqual([
      'claude-code 2.1.330 · model claude-sonnet-4-5 · session f2f3370c-4175-46e8-8f8d-c8e6ac29f5a6',
      'I will write the file.',
      '→ Write notes/hello.txt',
      '← ok',
      '→ Bash: ls missing-dir',
      "← error: Exit code 2 · ls: cannot access 'missing-dir': No such file or directory",
      '→ Bash: cat notes/hello.txt && echo second line',
      '← ok',
      'Done: wrote notes/hello.txt.',
      'It says hello.',
      '✓ Claude Code finished after 4 turns · $0.0204',
    ]);
    expect(merged).toEqual({
      cost_usd: 0.0204,
      turns: 4,
      session_id: 'f2f3370c-4175-46e8-8f8d-c8e6ac29f5a6',
      summary: 'Done: wrote notes/hello.txt.\nIt says hello.',
    });
  });

  it('reports the session id as soon as the run starts, so an interrupted attempt can be resumed', () => {
    const { reports } = feed(SUCCESS.slice(0, 1));
    expect(reports).toEqual([{ session_id: 'f2f3370c-4175-46e8-8f8d-c8e6ac29f5a6' }]);
  });

  it('keeps a running cost from the usage in the stream that matches what the CLI charges', () => {
    const { reports } = feed(SUCCESS.filter((l) => !l.includes('"type":"result"')));
    // 4,600 input, 2,000 cache-read and 400 output tokens of claude-sonnet-4-5 at $3 / $0.30 / $15.
    expect(reports.at(-1)?.cost_usd).toBeCloseTo(0.0204, 10);
    expect(reports.at(-1)?.turns).toBe(4);
  });

  it('prices the running cost from the configured table when the model is in it', () => {
    const { reports } = feed(
      SUCCESS.filter((l) => !l.includes('"type":"result"')),
      {
        'claude-sonnet-4-5': { input_per_mtok: 1, output_per_mtok: 2 },
      },
    );
    // Cache reads default to a tenth of the input price.
    expect(reports.at(-1)?.cost_usd).toBeCloseTo((4600 * 1 + 400 * 2 + 2000 * 0.1) / 1e6, 10);
  });

  it('passes a budget before the CLI does: the estimate is over $0.50 while the CLI lets the run go on', () => {
    const resultAt = BUDGET.findIndex((l) => l.includes('"type":"result"'));
    const { reports } = feed(BUDGET.slice(0, resultAt));
    const overAt = reports.findIndex((r) => (r.cost_usd ?? 0) > 0.5);
    expect(overAt).toBeGreaterThan(-1);
    // The second turn's start takes it over: $0.45 for the first turn, $0.30 of input and the one
    // output token message_start announces.
    expect(reports[overAt]?.cost_usd).toBeCloseTo(0.45 + 0.3 + 15 / 1e6, 10);
  });

  it('maps the CLI stopping at its budget cap to budget_exceeded with the cost it spent', () => {
    const { merged, display } = feed(BUDGET);
    expect(merged.failure?.category).toBe('budget_exceeded');
    expect(merged.failure?.message).toContain('Reached maximum budget ($0.5)');
    expect(merged.failure?.message).toContain('budget_usd');
    expect(merged.cost_usd).toBeCloseTo(0.9, 10);
    expect(display.at(-1)).toBe('✗ Claude Code stopped (budget_exceeded) after 2 turns · $0.9000');
  });

  it('maps running out of turns to max_turns', () => {
    const { merged } = feed(MAX_TURNS);
    expect(merged.failure).toEqual({
      category: 'max_turns',
      message: expect.stringContaining('Reached maximum number of turns (2)') as string,
    });
    expect(merged.failure?.message).toContain('raise max_turns');
    expect(merged.turns).toBe(3);
  });

  it('maps a 401 (an API error reported as subtype "success") to auth, naming the credential to set', () => {
    const { merged, display } = feed(UNAUTHORIZED);
    expect(merged.failure?.category).toBe('auth');
    expect(merged.failure?.message).toContain(
      'rejected the credential in ANTHROPIC_API_KEY (HTTP 401: Invalid API key',
    );
    expect(merged.failure?.message).toContain('ANTHROPIC_AUTH_TOKEN');
    expect(merged.failure?.message).toContain('CLAUDE_CODE_USE_BEDROCK=1');
    expect(merged.summary).toBeUndefined();
    expect(display).toContain('… model API error 401 (authentication_failed); retry 1/1');
  });

  it('maps a run without any credential to auth', () => {
    const { merged } = feed(NO_CREDENTIALS);
    expect(merged.failure?.category).toBe('auth');
    expect(merged.failure?.message).toMatch(
      /^Claude Code found no model credentials \("Not logged in/,
    );
    expect(merged.failure?.message).toContain('set a valid ANTHROPIC_API_KEY');
  });

  it('maps an overloaded model API (529) to a retryable agent_error that says so', () => {
    const { merged } = feed(OVERLOADED);
    expect(merged.failure?.category).toBe('agent_error');
    expect(merged.failure?.message).toMatch(
      /^the model API was overloaded or unavailable \(HTTP 529/,
    );
  });

  it('maps other errors to agent_error with the CLI’s own words', () => {
    const parser = createStreamJsonParser({ agent: 'claude', prices: {} });
    const out = parser.line(
      JSON.stringify({
        type: 'result',
        subtype: 'error_during_execution',
        is_error: true,
        num_turns: 0,
        total_cost_usd: 0,
        errors: ['No conversation found with session ID: abc'],
      }),
    );
    expect(out.report?.failure).toEqual({
      category: 'agent_error',
      message:
        'Claude Code reported an error (error_during_execution): No conversation found with session ID: abc',
    });
  });

  it('passes lines that are not stream-json through unchanged and hides events nobody reads', () => {
    const parser = createStreamJsonParser({ agent: 'claude', prices: {} });
    expect(parser.line('Warning: something the CLI printed')).toEqual({
      display: ['Warning: something the CLI printed'],
    });
    expect(parser.line('{not json')).toEqual({ display: ['{not json'] });
    expect(parser.line('{"type":"rate_limit_event"}')).toEqual({ display: [] });
  });

  it('joins an event the runner split for length (a Write of a large file) before reading it', () => {
    const write = SUCCESS.find(
      (l) => l.startsWith('{"type":"assistant"') && l.includes('"name":"Write"'),
    )!.replace('"content":"hello\\n"', `"content":"${'é'.repeat(100_000)}"`);
    const splitter = new LineSplitter();
    // The agent's output arrives in pipe-sized chunks; only an unfinished line is cut.
    const bytes = Buffer.from(`${write}\n${SUCCESS.at(-1)!}\n`);
    const lines: string[] = [];
    for (let at = 0; at < bytes.length; at += 16_384)
      lines.push(...splitter.push(bytes.subarray(at, at + 16_384)));
    expect(lines.length).toBeGreaterThan(3);
    const { display } = feed(lines);
    expect(display).toEqual([
      '→ Write notes/hello.txt',
      '✓ Claude Code finished after 4 turns · $0.0204',
    ]);
  });

  it('leaves out, with a note, a long line that never becomes valid JSON', () => {
    const { display } = feed([`{"type":"assistant",${'x'.repeat(40_000)}`, 'tail', 'next line']);
    expect(display).toEqual([
      '[forge] a stream-json line of 40024 characters could not be read and was left out',
      'next line',
    ]);
  });
});

describe('tool call lines', () => {
  it('name the tool and what it acts on, relative to the workspace, on one truncated line', () => {
    expect(describeTool('Edit', { file_path: '/w/src/a.ts' }, '/w')).toBe('Edit src/a.ts');
    expect(describeTool('Grep', { pattern: 'TODO', path: '/w/src' }, '/w')).toBe(
      'Grep TODO in src',
    );
    expect(describeTool('mcp__gh__list', { repo: 'x' }, '/w')).toBe('mcp__gh__list {"repo":"x"}');
    const long = describeTool('Bash', { command: `echo ${'x'.repeat(500)}\nsecond line` }, '/w');
    expect(long).toHaveLength(160);
    expect(long.endsWith('…')).toBe(true);
  });
});

/** Session ids an agent's output could carry that must never reach a path or a command line. */
const HOSTILE_SESSION_IDS: Array<[string, string]> = [
  ['a path', '../../etc/passwd'],
  ['a newline', 'f2f3370c\n--dangerously-skip-permissions'],
  ['10 KB', 'a'.repeat(10_000)],
  ['only dots', '..'],
];

describe('session ids', () => {
  it.each(HOSTILE_SESSION_IDS)('ignores a session id that is %s', (_what, hostile) => {
    const init = JSON.stringify({
      type: 'system',
      subtype: 'init',
      session_id: hostile,
      model: 'claude-sonnet-4-5',
      claude_code_version: '2.1.330',
    });
    const result = JSON.stringify({
      type: 'result',
      subtype: 'success',
      is_error: false,
      num_turns: 1,
      total_cost_usd: 0.01,
      result: 'done',
      session_id: hostile,
    });
    const { display, reports, merged } = feed([init, result]);
    expect(merged.session_id).toBeUndefined();
    expect(merged.summary).toBe('done');
    expect(reports.length).toBeGreaterThan(0);
    expect(display.join('\n')).not.toContain(hostile);
  });
});

describe('prices', () => {
  it('match dated model names by prefix, configured first, and fall back to the CLI default model', () => {
    expect(priceFor('claude-sonnet-4-5-20250929', {}).input_per_mtok).toBe(3);
    expect(
      priceFor('claude-sonnet-4-5', { 'claude-sonnet': { input_per_mtok: 9, output_per_mtok: 9 } })
        .input_per_mtok,
    ).toBe(9);
    expect(priceFor('some-proxy-model', {})).toEqual(priceFor('claude-opus-5-5', {}));
  });
});

const SUCCESS = [
  '{"type":"system","subtype":"init","cwd":"/tmp/cc-exp/rec-tM7OUP/workspace","session_id":"f2f3370c-4175-46e8-8f8d-c8e6ac29f5a6","tools":["Task","Bash","CronCreate","CronDelete","CronList","Edit","EnterWorktree","ExitWorktree","ListAgents","Monitor","NotebookEdit","Read","ReportFindings","ScheduleWakeup","SendMessage","Skill","TaskCreate","TaskGet","TaskList","TaskStop","TaskUpdate","ToolSearch","WebFetch","WebSearch","Workflow","Write"],"mcp_servers":[],"model":"claude-sonnet-4-5","permissionMode":"bypassPermissions","slash_commands":["deep-research","dataviz","update-config","verify","debug","code-review","simplify","batch","fewer-permission-prompts","doctor","loop","claude-api","workflow-authoring","run","run-skill-generator","plugin-authoring","agents","auto-mode-setup","autocompact","clear","color","compact","config","output-style","context","effort","fast","focus","heapdump","init","mcp","model","__remote-workflow","workflow-launch-exec","reload-plugins","reload-skills","rename","security-review","usage","insights","recap","goal","list-agents","team-onboarding"],"terminal_slash_commands":["doctor","color","focus","reload-plugins"],"apiKeySource":"ANTHROPIC_API_KEY","claude_code_version":"2.1.330","output_style":"default","agents":["claude","Explore","general-purpose","Plan","statusline-setup"],"skills":["deep-research","dataviz","update-config","verify","debug","code-review","simplify","batch","fewer-permission-prompts","doctor","loop","claude-api","workflow-authoring","run","run-skill-generator","plugin-authoring"],"plugins":[{"name":"cc-plugin-agents-md","path":"builtin","source":"cc-plugin-agents-md@builtin"},{"name":"cc-plugin-privacy","path":"builtin","source":"cc-plugin-privacy@builtin"},{"name":"cc-plugin-plugin-authoring","path":"builtin","source":"cc-plugin-plugin-authoring@builtin"}],"capabilities":["interrupt_receipt_v1","interrupt_cancel_queued_v1","interrupt_send_now_v1","interrupt_requeue_taken_v1","msg_lifecycle_v1","request_marker_lists_v1","ask_user_question_unanswered_v1","lifecycle_wakeup_source_v1","sdk_mcp_tools_list_changed","sdk_mcp_manifests","mcp_read_resource_v1","mcp_tool_ui_meta_v1","ui_surface_v1","mcp_call_result_not_for_model_v1","mcp_call_check_permissions_v1","voice_call_talk_line_v1","withdrawn_files_note_v2","withdrawn_tools_v1","ui_pane_widget_v1","reload_plugins_refuse_if_busy_v1","get_usage_detached_v1","silent_resend_files_v1"],"analytics_disabled":true,"product_feedback_disabled":true,"served_by_anthropic":false,"uuid":"a9c518d6-3520-420b-8e30-105b7613b056","memory_paths":{"auto":"/tmp/cc-exp/rec-tM7OUP/home/.claude/projects/-tmp-cc-exp-rec-tM7OUP-workspace/memory/"},"original_cwd":"/tmp/cc-exp/rec-tM7OUP/workspace","additional_directories":[],"messaging_socket_path":"/tmp/cc-socks/18740.sock","fast_mode_state":"off","fast_mode_disabled_reason":"sdk_opt_in_required","per_turn_effort_active":false,"ultrathink_available":false,"ultrathink_typed_raises":false,"view_mode":"default"}',
  '{"type":"system","subtype":"status","status":"requesting","session_id":"f2f3370c-4175-46e8-8f8d-c8e6ac29f5a6","uuid":"2bf225e5-c014-48ae-bc8b-8cf1429bcaa3"}',
  '{"type":"stream_event","event":{"type":"message_start","message":{"id":"msg_4e275dee9ab7414580d3fc8cb1a702e1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"cache_creation_input_tokens":0,"cache_read_input_tokens":2000,"input_tokens":1000,"output_tokens":1}}},"session_id":"f2f3370c-4175-46e8-8f8d-c8e6ac29f5a6","parent_tool_use_id":null,"uuid":"8e3ba978-4a83-4301-b8ce-084e2c0f50fa","ttft_ms":28,"thinking_display":"updates","api_message_id":"msg_4e275dee9ab7414580d3fc8cb1a702e1"}',
  '{"type":"stream_event","event":{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}},"session_id":"f2f3370c-4175-46e8-8f8d-c8e6ac29f5a6","parent_tool_use_id":null,"uuid":"a86e3f3c-cea3-4edd-a00a-06d06253f2da","api_message_id":"msg_4e275dee9ab7414580d3fc8cb1a702e1"}',
  '{"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"I will write the file."}},"session_id":"f2f3370c-4175-46e8-8f8d-c8e6ac29f5a6","parent_tool_use_id":null,"uuid":"d598e9b4-67e5-4ec7-bf12-9f3e47928713","api_message_id":"msg_4e275dee9ab7414580d3fc8cb1a702e1"}',
  '{"type":"assistant","message":{"id":"msg_4e275dee9ab7414580d3fc8cb1a702e1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"I will write the file."}],"stop_reason":null,"stop_sequence":null,"usage":{"cache_creation_input_tokens":0,"cache_read_input_tokens":2000,"input_tokens":1000,"output_tokens":1},"context_management":null},"parent_tool_use_id":null,"session_id":"f2f3370c-4175-46e8-8f8d-c8e6ac29f5a6","uuid":"928a0f1a-7230-4f60-893a-aa675704adc8","timestamp":"2026-11-22T07:25:43.418Z","request_id":"req_55f3f397-aa88-429c-947c-d7d3e2104bda"}',
  '{"type":"stream_event","event":{"type":"content_block_stop","index":0},"session_id":"f2f3370c-4175-46e8-8f8d-c8e6ac29f5a6","parent_tool_use_id":null,"uuid":"5d10ec41-f3ce-483f-bcf7-0a5c738288bf","api_message_id":"msg_4e275dee9ab7414580d3fc8cb1a702e1"}',
  '{"type":"stream_event","event":{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_218ffe9012114321930652fc16f595a0","name":"Write","input":{}}},"session_id":"f2f3370c-4175-46e8-8f8d-c8e6ac29f5a6","parent_tool_use_id":null,"uuid":"02dae79f-16ae-4313-89ed-e12c08c48ca8","api_message_id":"msg_4e275dee9ab7414580d3fc8cb1a702e1"}',
  '{"type":"stream_event","event":{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\\"file_path\\":\\"notes/hello"}},"session_id":"f2f3370c-4175-46e8-8f8d-c8e6ac29f5a6","parent_tool_use_id":null,"uuid":"db39463b-c31b-4025-9104-baf4ca096622","api_message_id":"msg_4e275dee9ab7414580d3fc8cb1a702e1"}',
  '{"type":"stream_event","event":{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":".txt\\",\\"content\\":\\"hello\\\\n\\"}"}},"session_id":"f2f3370c-4175-46e8-8f8d-c8e6ac29f5a6","parent_tool_use_id":null,"uuid":"eab3831e-d2fc-40fb-895d-f3edbd920201","api_message_id":"msg_4e275dee9ab7414580d3fc8cb1a702e1"}',
  '{"type":"assistant","message":{"id":"msg_4e275dee9ab7414580d3fc8cb1a702e1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"tool_use","id":"toolu_218ffe9012114321930652fc16f595a0","name":"Write","input":{"file_path":"notes/hello.txt","content":"hello\\n"}}],"stop_reason":null,"stop_sequence":null,"usage":{"cache_creation_input_tokens":0,"cache_read_input_tokens":2000,"input_tokens":1000,"output_tokens":1},"context_management":null},"parent_tool_use_id":null,"session_id":"f2f3370c-4175-46e8-8f8d-c8e6ac29f5a6","uuid":"913ec1b9-cab2-474a-9537-97bc04b23041","timestamp":"2026-11-22T07:25:43.427Z","request_id":"req_55f3f397-aa88-429c-947c-d7d3e2104bda"}',
  '{"type":"stream_event","event":{"type":"content_block_stop","index":1},"session_id":"f2f3370c-4175-46e8-8f8d-c8e6ac29f5a6","parent_tool_use_id":null,"uuid":"ff2e36db-784f-488e-b6a7-965ba74877d7","api_message_id":"msg_4e275dee9ab7414580d3fc8cb1a702e1"}',
  '{"type":"stream_event","event":{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":100}},"session_id":"f2f3370c-4175-46e8-8f8d-c8e6ac29f5a6","parent_tool_use_id":null,"uuid":"d845e145-57ad-4a54-bc0f-9119f8551120","api_message_id":"msg_4e275dee9ab7414580d3fc8cb1a702e1"}',
  '{"type":"stream_event","event":{"type":"message_stop"},"session_id":"f2f3370c-4175-46e8-8f8d-c8e6ac29f5a6","parent_tool_use_id":null,"uuid":"c0f08e4d-4d9c-4330-b00b-f8083cc7313d","api_message_id":"msg_4e275dee9ab7414580d3fc8cb1a702e1"}',
  '{"type":"user","message":{"role":"user","content":[{"tool_use_id":"toolu_218ffe9012114321930652fc16f595a0","type":"tool_result","content":"File created successfully at: notes/hello.txt (file state is current in your context — no need to Read it back)"}]},"parent_tool_use_id":null,"session_id":"f2f3370c-4175-46e8-8f8d-c8e6ac29f5a6","uuid":"24ad34c2-161d-462b-af8e-cc5943d94a0a","timestamp":"2026-11-22T07:25:43.595Z","tool_use_result":{"type":"create","filePath":"notes/hello.txt","content":"hello\\n","structuredPatch":[],"originalFile":null,"userModified":false},"tool_result_meta":[{"id":"toolu_218ffe9012114321930652fc16f595a0","permission_decision":{"decision":"accept","source":"config","reason_type":"mode"}}]}',
  '{"type":"system","subtype":"status","status":"requesting","session_id":"f2f3370c-4175-46e8-8f8d-c8e6ac29f5a6","uuid":"b0ec3262-2bc8-48a4-a108-054858ab100c"}',
  '{"type":"stream_event","event":{"type":"message_start","message":{"id":"msg_7854a338551547faa1e8b5861adf6ecc","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"input_tokens":1100,"output_tokens":1}}},"session_id":"f2f3370c-4175-46e8-8f8d-c8e6ac29f5a6","parent_tool_use_id":null,"uuid":"82c5efdc-7ba8-4e8e-8918-e3f7275350c9","ttft_ms":6,"thinking_display":"updates","api_message_id":"msg_7854a338551547faa1e8b5861adf6ecc"}',
  '{"type":"stream_event","event":{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_84014214b6ca42dc97b55f8e0822a026","name":"Bash","input":{}}},"session_id":"f2f3370c-4175-46e8-8f8d-c8e6ac29f5a6","parent_tool_use_id":null,"uuid":"20b7ffc4-53f3-47d9-b04b-e5edf6244fb5","api_message_id":"msg_7854a338551547faa1e8b5861adf6ecc"}',
  '{"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\\"command\\":\\"ls missing-d"}},"session_id":"f2f3370c-4175-46e8-8f8d-c8e6ac29f5a6","parent_tool_use_id":null,"uuid":"66dd6fa6-972a-4ed0-b49a-64472e9dcfec","api_message_id":"msg_7854a338551547faa1e8b5861adf6ecc"}',
  '{"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"ir\\",\\"description\\":\\"list\\"}"}},"session_id":"f2f3370c-4175-46e8-8f8d-c8e6ac29f5a6","parent_tool_use_id":null,"uuid":"47c15982-43c6-4721-8958-07aebd65cd1d","api_message_id":"msg_7854a338551547faa1e8b5861adf6ecc"}',
  '{"type":"assistant","message":{"id":"msg_7854a338551547faa1e8b5861adf6ecc","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"tool_use","id":"toolu_84014214b6ca42dc97b55f8e0822a026","name":"Bash","input":{"command":"ls missing-dir","description":"list"}}],"stop_reason":null,"stop_sequence":null,"usage":{"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"input_tokens":1100,"output_tokens":1},"context_management":null},"parent_tool_use_id":null,"session_id":"f2f3370c-4175-46e8-8f8d-c8e6ac29f5a6","uuid":"b44a2f3c-48c3-4b1e-a2cc-7b7b6d321483","timestamp":"2026-11-22T07:25:43.635Z","request_id":"req_c836876f-26dc-406d-923f-be6255d8cea2"}',
  '{"type":"stream_event","event":{"type":"content_block_stop","index":0},"session_id":"f2f3370c-4175-46e8-8f8d-c8e6ac29f5a6","parent_tool_use_id":null,"uuid":"08f65079-6cbc-4ab5-9899-915e9cc1a954","api_message_id":"msg_7854a338551547faa1e8b5861adf6ecc"}',
  '{"type":"stream_event","event":{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":50}},"session_id":"f2f3370c-4175-46e8-8f8d-c8e6ac29f5a6","parent_tool_use_id":null,"uuid":"62b52c51-8ddb-45c8-9325-dd7fe6d9d38b","api_message_id":"msg_7854a338551547faa1e8b5861adf6ecc"}',
  '{"type":"stream_event","event":{"type":"message_stop"},"session_id":"f2f3370c-4175-46e8-8f8d-c8e6ac29f5a6","parent_tool_use_id":null,"uuid":"0bce2269-f417-4460-a76d-9c0b19602bc3","api_message_id":"msg_7854a338551547faa1e8b5861adf6ecc"}',
  '{"type":"user","message":{"role":"user","content":[{"type":"tool_result","content":"Exit code 2\\nls: cannot access \'missing-dir\': No such file or directory","is_error":true,"tool_use_id":"toolu_84014214b6ca42dc97b55f8e0822a026"}]},"parent_tool_use_id":null,"session_id":"f2f3370c-4175-46e8-8f8d-c8e6ac29f5a6","uuid":"e49109c2-b07c-4000-8421-44b5a6c78163","timestamp":"2026-11-22T07:25:43.693Z","tool_use_result":"Error: Exit code 2\\nls: cannot access \'missing-dir\': No such file or directory","tool_result_meta":[{"id":"toolu_84014214b6ca42dc97b55f8e0822a026","permission_decision":{"decision":"accept","source":"config","reason_type":"mode"}}]}',
  '{"type":"system","subtype":"status","status":"requesting","session_id":"f2f3370c-4175-46e8-8f8d-c8e6ac29f5a6","uuid":"5c703eae-606f-487e-9e1b-370d6e492f61"}',
  '{"type":"stream_event","event":{"type":"message_start","message":{"id":"msg_905ba2c95c61409bb0d3c2b5472962cc","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"input_tokens":1200,"output_tokens":1}}},"session_id":"f2f3370c-4175-46e8-8f8d-c8e6ac29f5a6","parent_tool_use_id":null,"uuid":"e6592fd1-4269-4c94-a3c4-1a2aaf986c5c","ttft_ms":14,"thinking_display":"updates","api_message_id":"msg_905ba2c95c61409bb0d3c2b5472962cc"}',
  '{"type":"stream_event","event":{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_c6030a5382954be0bab09ce12b89ad83","name":"Bash","input":{}}},"session_id":"f2f3370c-4175-46e8-8f8d-c8e6ac29f5a6","parent_tool_use_id":null,"uuid":"eb1dcb3a-09f0-44bc-a820-7963c563b462","api_message_id":"msg_905ba2c95c61409bb0d3c2b5472962cc"}',
  '{"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\\"command\\":\\"cat notes/hello.txt && ec"}},"session_id":"f2f3370c-4175-46e8-8f8d-c8e6ac29f5a6","parent_tool_use_id":null,"uuid":"8381fb87-11aa-4494-91cd-ea82e06eab18","api_message_id":"msg_905ba2c95c61409bb0d3c2b5472962cc"}',
  '{"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"ho second line\\",\\"description\\":\\"show\\"}"}},"session_id":"f2f3370c-4175-46e8-8f8d-c8e6ac29f5a6","parent_tool_use_id":null,"uuid":"a9a96ec2-6cdc-4e12-a6d5-558508f27b76","api_message_id":"msg_905ba2c95c61409bb0d3c2b5472962cc"}',
  '{"type":"assistant","message":{"id":"msg_905ba2c95c61409bb0d3c2b5472962cc","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"tool_use","id":"toolu_c6030a5382954be0bab09ce12b89ad83","name":"Bash","input":{"command":"cat notes/hello.txt && echo second line","description":"show"}}],"stop_reason":null,"stop_sequence":null,"usage":{"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"input_tokens":1200,"output_tokens":1},"context_management":null},"parent_tool_use_id":null,"session_id":"f2f3370c-4175-46e8-8f8d-c8e6ac29f5a6","uuid":"c59de912-c3b9-4e65-84ca-2fb79e36b1ce","timestamp":"2026-11-22T07:25:43.735Z","request_id":"req_71e026d4-f962-4bb1-b05a-84f30ab1bf0c"}',
  '{"type":"stream_event","event":{"type":"content_block_stop","index":0},"session_id":"f2f3370c-4175-46e8-8f8d-c8e6ac29f5a6","parent_tool_use_id":null,"uuid":"66dc118d-38ac-4195-a98e-891b236c8539","api_message_id":"msg_905ba2c95c61409bb0d3c2b5472962cc"}',
  '{"type":"stream_event","event":{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":50}},"session_id":"f2f3370c-4175-46e8-8f8d-c8e6ac29f5a6","parent_tool_use_id":null,"uuid":"ade5eee3-e265-45a2-9805-d92b95ddf8d5","api_message_id":"msg_905ba2c95c61409bb0d3c2b5472962cc"}',
  '{"type":"stream_event","event":{"type":"message_stop"},"session_id":"f2f3370c-4175-46e8-8f8d-c8e6ac29f5a6","parent_tool_use_id":null,"uuid":"fdd44cbe-569f-4da3-856e-15fab8d59d31","api_message_id":"msg_905ba2c95c61409bb0d3c2b5472962cc"}',
  '{"type":"user","message":{"role":"user","content":[{"tool_use_id":"toolu_c6030a5382954be0bab09ce12b89ad83","type":"tool_result","content":"hello\\nsecond line","is_error":false}]},"parent_tool_use_id":null,"session_id":"f2f3370c-4175-46e8-8f8d-c8e6ac29f5a6","uuid":"6a787b8c-ebfc-43a4-8cb3-dfb37ee74f7b","timestamp":"2026-11-22T07:25:43.782Z","tool_use_result":{"stdout":"hello\\nsecond line","stderr":"","interrupted":false,"isImage":false,"noOutputExpected":false},"tool_result_meta":[{"id":"toolu_c6030a5382954be0bab09ce12b89ad83","permission_decision":{"decision":"accept","source":"config","reason_type":"mode"}}]}',
  '{"type":"system","subtype":"status","status":"requesting","session_id":"f2f3370c-4175-46e8-8f8d-c8e6ac29f5a6","uuid":"180d464f-3cdd-4f58-b5a9-afd3c367fda3"}',
  '{"type":"stream_event","event":{"type":"message_start","message":{"id":"msg_e790aba4367c47ccbd587e536af2ef01","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"input_tokens":1300,"output_tokens":1}}},"session_id":"f2f3370c-4175-46e8-8f8d-c8e6ac29f5a6","parent_tool_use_id":null,"uuid":"cb7f1931-11e2-42a6-9d10-db79d3b3ddb4","ttft_ms":8,"thinking_display":"updates","api_message_id":"msg_e790aba4367c47ccbd587e536af2ef01"}',
  '{"type":"stream_event","event":{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}},"session_id":"f2f3370c-4175-46e8-8f8d-c8e6ac29f5a6","parent_tool_use_id":null,"uuid":"1a44930e-485b-4f42-b72c-c7bbd967cde1","api_message_id":"msg_e790aba4367c47ccbd587e536af2ef01"}',
  '{"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Done: wrote notes/hello.txt.\\nIt says hello."}},"session_id":"f2f3370c-4175-46e8-8f8d-c8e6ac29f5a6","parent_tool_use_id":null,"uuid":"ac79feb0-88f2-4d40-be34-28c421e1acc4","api_message_id":"msg_e790aba4367c47ccbd587e536af2ef01"}',
  '{"type":"assistant","message":{"id":"msg_e790aba4367c47ccbd587e536af2ef01","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Done: wrote notes/hello.txt.\\nIt says hello."}],"stop_reason":null,"stop_sequence":null,"usage":{"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"input_tokens":1300,"output_tokens":1},"context_management":null},"parent_tool_use_id":null,"session_id":"f2f3370c-4175-46e8-8f8d-c8e6ac29f5a6","uuid":"4fe0b46a-1781-4242-aa69-9d13740ecab6","timestamp":"2026-11-22T07:25:43.840Z","request_id":"req_d993f256-d731-4b08-b6f4-8a654a0e1815"}',
  '{"type":"stream_event","event":{"type":"content_block_stop","index":0},"session_id":"f2f3370c-4175-46e8-8f8d-c8e6ac29f5a6","parent_tool_use_id":null,"uuid":"91cfcd7f-b85d-4f0e-b2cc-9192f0bd518f","api_message_id":"msg_e790aba4367c47ccbd587e536af2ef01"}',
  '{"type":"stream_event","event":{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":200}},"session_id":"f2f3370c-4175-46e8-8f8d-c8e6ac29f5a6","parent_tool_use_id":null,"uuid":"f1c1dbec-b2eb-434d-a966-db85141e50ca","api_message_id":"msg_e790aba4367c47ccbd587e536af2ef01"}',
  '{"type":"stream_event","event":{"type":"message_stop"},"session_id":"f2f3370c-4175-46e8-8f8d-c8e6ac29f5a6","parent_tool_use_id":null,"uuid":"b2d014d8-d186-45ad-aa95-939d2631ee27","api_message_id":"msg_e790aba4367c47ccbd587e536af2ef01"}',
  '{"duration_api_ms":182,"stop_reason":"end_turn","session_id":"f2f3370c-4175-46e8-8f8d-c8e6ac29f5a6","total_cost_usd":0.0204,"usage":{"input_tokens":4600,"cache_creation_input_tokens":0,"cache_read_input_tokens":2000,"output_tokens":400,"output_tokens_details":{"thinking_tokens":0},"server_tool_use":{"web_search_requests":0,"web_fetch_requests":0},"service_tier":"standard","cache_creation":{"ephemeral_1h_input_tokens":0,"ephemeral_5m_input_tokens":0},"inference_geo":"","iterations":[],"speed":"standard","fallback_credit":null},"modelUsage":{"claude-sonnet-4-5":{"inputTokens":4600,"outputTokens":400,"cacheReadInputTokens":2000,"cacheCreationInputTokens":0,"webSearchRequests":0,"costUSD":0.0204,"contextWindow":200000,"maxOutputTokens":32000,"thinkingTokens":0,"cacheCreationEphemeral5mInputTokens":0,"cacheCreationEphemeral1hInputTokens":0,"canonicalModel":"claude-sonnet-4-5","provider":"firstParty","costBasis":"list"}},"permission_denials":[],"terminal_reason":"completed","fast_mode_state":"off","fast_mode_disabled_reason":"sdk_opt_in_required","subagent_stats":{"spawned":0,"requested":{"background":0,"foreground":0,"unset":0},"started_in_background":0,"max_depth":0,"spawned_by_subagents":0,"completed":0,"failed":0,"killed":{"parent":0,"user":0,"system":0},"refused":{"depth_limit":0,"concurrency_limit":0,"budget":0},"by_type":{}},"safety_stops":0,"is_error":false,"num_turns":4,"subtype":"success","api_error_status":null,"result":"Done: wrote notes/hello.txt.\\nIt says hello.","ttft_ms":230,"type":"result","duration_ms":660,"uuid":"dcb24d3a-a9ea-474e-a889-8a75165860e8","begun_message_ids":["msg_4e275dee9ab7414580d3fc8cb1a702e1","msg_7854a338551547faa1e8b5861adf6ecc","msg_905ba2c95c61409bb0d3c2b5472962cc","msg_e790aba4367c47ccbd587e536af2ef01"],"ttft_stream_ms":225,"time_to_request_ms":201,"first_content_frame_ms":226,"queued_turn_count":0,"result_index":0,"model_usage_since_last_result":{"claude-sonnet-4-5":{"inputTokens":4600,"outputTokens":400,"cacheReadInputTokens":2000,"cacheCreationInputTokens":0,"webSearchRequests":0,"costUSD":0.0204,"contextWindow":200000,"maxOutputTokens":32000,"thinkingTokens":0,"cacheCreationEphemeral5mInputTokens":0,"cacheCreationEphemeral1hInputTokens":0,"canonicalModel":"claude-sonnet-4-5","provider":"firstParty","costBasis":"list"}}}',
];
const BUDGET = [
  '{"type":"system","subtype":"status","status":"requesting","session_id":"864003be-41fa-4a5a-ba32-e1e6799a48e3","uuid":"7d8715a9-d066-4176-8fab-b7a3d320478b"}',
  '{"type":"stream_event","event":{"type":"message_start","message":{"id":"msg_455d17a4f78441b0a42b80c1ed012446","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"input_tokens":100000,"output_tokens":1}}},"session_id":"864003be-41fa-4a5a-ba32-e1e6799a48e3","parent_tool_use_id":null,"uuid":"dc2a9990-16a0-4334-93c4-c3d6eb3aa38a","ttft_ms":38,"thinking_display":"updates","api_message_id":"msg_455d17a4f78441b0a42b80c1ed012446"}',
  '{"type":"stream_event","event":{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_c2e71cf9258c462f8106cbbc6bf83d89","name":"Bash","input":{}}},"session_id":"864003be-41fa-4a5a-ba32-e1e6799a48e3","parent_tool_use_id":null,"uuid":"540d0ed9-2ab7-4a8b-8e99-9c7c6a30d40f","api_message_id":"msg_455d17a4f78441b0a42b80c1ed012446"}',
  '{"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\\"command\\""}},"session_id":"864003be-41fa-4a5a-ba32-e1e6799a48e3","parent_tool_use_id":null,"uuid":"3abfbaf2-7993-43ea-ba9e-ec5a8d718bad","api_message_id":"msg_455d17a4f78441b0a42b80c1ed012446"}',
  '{"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":":\\"echo hi\\"}"}},"session_id":"864003be-41fa-4a5a-ba32-e1e6799a48e3","parent_tool_use_id":null,"uuid":"f5c9cb7e-a74b-4f7a-93f2-1c78a0c86ed6","api_message_id":"msg_455d17a4f78441b0a42b80c1ed012446"}',
  '{"type":"assistant","message":{"id":"msg_455d17a4f78441b0a42b80c1ed012446","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"tool_use","id":"toolu_c2e71cf9258c462f8106cbbc6bf83d89","name":"Bash","input":{"command":"echo hi"}}],"stop_reason":null,"stop_sequence":null,"usage":{"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"input_tokens":100000,"output_tokens":1},"context_management":null},"parent_tool_use_id":null,"session_id":"864003be-41fa-4a5a-ba32-e1e6799a48e3","uuid":"ab401637-1544-4628-8a72-e5449c26e382","timestamp":"2026-11-22T07:25:51.247Z","request_id":"req_712fcf98-57cd-4171-8f8c-7090b1adf887"}',
  '{"type":"stream_event","event":{"type":"content_block_stop","index":0},"session_id":"864003be-41fa-4a5a-ba32-e1e6799a48e3","parent_tool_use_id":null,"uuid":"fa7f7a3d-e952-427e-bdcd-40a7a210e11e","api_message_id":"msg_455d17a4f78441b0a42b80c1ed012446"}',
  '{"type":"stream_event","event":{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":10000}},"session_id":"864003be-41fa-4a5a-ba32-e1e6799a48e3","parent_tool_use_id":null,"uuid":"f988f9e8-4659-4de5-b91d-22734a739933","api_message_id":"msg_455d17a4f78441b0a42b80c1ed012446"}',
  '{"type":"stream_event","event":{"type":"message_stop"},"session_id":"864003be-41fa-4a5a-ba32-e1e6799a48e3","parent_tool_use_id":null,"uuid":"5b0287a1-83d4-4da3-ba5c-dff5c6737cf9","api_message_id":"msg_455d17a4f78441b0a42b80c1ed012446"}',
  '{"type":"user","message":{"role":"user","content":[{"tool_use_id":"toolu_c2e71cf9258c462f8106cbbc6bf83d89","type":"tool_result","content":"hi","is_error":false}]},"parent_tool_use_id":null,"session_id":"864003be-41fa-4a5a-ba32-e1e6799a48e3","uuid":"1d896281-1b3e-4c04-be81-4256fbaacc81","timestamp":"2026-11-22T07:25:51.325Z","tool_use_result":{"stdout":"hi","stderr":"","interrupted":false,"isImage":false,"noOutputExpected":false},"tool_result_meta":[{"id":"toolu_c2e71cf9258c462f8106cbbc6bf83d89","permission_decision":{"decision":"accept","source":"config","reason_type":"mode"}}]}',
  '{"type":"system","subtype":"status","status":"requesting","session_id":"864003be-41fa-4a5a-ba32-e1e6799a48e3","uuid":"5711796c-38ed-472c-abbb-dd95a4e2e2cc"}',
  '{"type":"stream_event","event":{"type":"message_start","message":{"id":"msg_69d508fdffa5495ab8e8b90ed565a0a0","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"input_tokens":100000,"output_tokens":1}}},"session_id":"864003be-41fa-4a5a-ba32-e1e6799a48e3","parent_tool_use_id":null,"uuid":"6b9354c4-cbb8-4a32-9fc5-66a7851f71e5","ttft_ms":6,"thinking_display":"updates","api_message_id":"msg_69d508fdffa5495ab8e8b90ed565a0a0"}',
  '{"type":"stream_event","event":{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_c6f3cf8d966f42a5ae9c5d9b7ddb7e6b","name":"Bash","input":{}}},"session_id":"864003be-41fa-4a5a-ba32-e1e6799a48e3","parent_tool_use_id":null,"uuid":"b232d641-2df8-4f08-88a9-cd11dea88a52","api_message_id":"msg_69d508fdffa5495ab8e8b90ed565a0a0"}',
  '{"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\\"command\\""}},"session_id":"864003be-41fa-4a5a-ba32-e1e6799a48e3","parent_tool_use_id":null,"uuid":"d938d791-e520-43ff-b8e2-3b41be20432b","api_message_id":"msg_69d508fdffa5495ab8e8b90ed565a0a0"}',
  '{"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":":\\"echo hi\\"}"}},"session_id":"864003be-41fa-4a5a-ba32-e1e6799a48e3","parent_tool_use_id":null,"uuid":"8d9210f2-99e2-42f6-924a-283786d8c250","api_message_id":"msg_69d508fdffa5495ab8e8b90ed565a0a0"}',
  '{"type":"assistant","message":{"id":"msg_69d508fdffa5495ab8e8b90ed565a0a0","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"tool_use","id":"toolu_c6f3cf8d966f42a5ae9c5d9b7ddb7e6b","name":"Bash","input":{"command":"echo hi"}}],"stop_reason":null,"stop_sequence":null,"usage":{"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"input_tokens":100000,"output_tokens":1},"context_management":null},"parent_tool_use_id":null,"session_id":"864003be-41fa-4a5a-ba32-e1e6799a48e3","uuid":"5d6fecd6-8380-4d2d-bdf8-6ff251a0a2c3","timestamp":"2026-11-22T07:25:51.364Z","request_id":"req_131640f6-6a7f-4a2f-b6d2-132e2b7acce1"}',
  '{"type":"stream_event","event":{"type":"content_block_stop","index":0},"session_id":"864003be-41fa-4a5a-ba32-e1e6799a48e3","parent_tool_use_id":null,"uuid":"395630a4-0e28-490e-a7ff-769032d31bd0","api_message_id":"msg_69d508fdffa5495ab8e8b90ed565a0a0"}',
  '{"type":"stream_event","event":{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":10000}},"session_id":"864003be-41fa-4a5a-ba32-e1e6799a48e3","parent_tool_use_id":null,"uuid":"8a4f368d-e0be-4032-bd42-3a70e71e16cc","api_message_id":"msg_69d508fdffa5495ab8e8b90ed565a0a0"}',
  '{"type":"stream_event","event":{"type":"message_stop"},"session_id":"864003be-41fa-4a5a-ba32-e1e6799a48e3","parent_tool_use_id":null,"uuid":"fdb56d2a-3622-42d8-ac1b-92502696e918","api_message_id":"msg_69d508fdffa5495ab8e8b90ed565a0a0"}',
  '{"duration_api_ms":92,"stop_reason":"tool_use","session_id":"864003be-41fa-4a5a-ba32-e1e6799a48e3","total_cost_usd":0.9000000000000001,"usage":{"input_tokens":100000,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":10000,"output_tokens_details":{"thinking_tokens":0},"server_tool_use":{"web_search_requests":0,"web_fetch_requests":0},"service_tier":"standard","cache_creation":{"ephemeral_1h_input_tokens":0,"ephemeral_5m_input_tokens":0},"inference_geo":"","iterations":[],"speed":"standard","fallback_credit":null},"modelUsage":{"claude-sonnet-4-5":{"inputTokens":200000,"outputTokens":20000,"cacheReadInputTokens":0,"cacheCreationInputTokens":0,"webSearchRequests":0,"costUSD":0.9000000000000001,"contextWindow":200000,"maxOutputTokens":32000,"thinkingTokens":0,"cacheCreationEphemeral5mInputTokens":0,"cacheCreationEphemeral1hInputTokens":0,"canonicalModel":"claude-sonnet-4-5","provider":"firstParty","costBasis":"list"}},"permission_denials":[],"terminal_reason":"budget_exhausted","fast_mode_state":"off","fast_mode_disabled_reason":"sdk_opt_in_required","subagent_stats":{"spawned":0,"requested":{"background":0,"foreground":0,"unset":0},"started_in_background":0,"max_depth":0,"spawned_by_subagents":0,"completed":0,"failed":0,"killed":{"parent":0,"user":0,"system":0},"refused":{"depth_limit":0,"concurrency_limit":0,"budget":0},"by_type":{}},"safety_stops":0,"is_error":true,"num_turns":2,"subtype":"error_max_budget_usd","errors":["Reached maximum budget ($0.5)"],"type":"result","duration_ms":345,"uuid":"23247783-7bac-4600-bc38-a9e131bb72e6","begun_message_ids":["msg_455d17a4f78441b0a42b80c1ed012446","msg_69d508fdffa5495ab8e8b90ed565a0a0"],"queued_turn_count":0,"result_index":0,"model_usage_since_last_result":{"claude-sonnet-4-5":{"inputTokens":200000,"outputTokens":20000,"cacheReadInputTokens":0,"cacheCreationInputTokens":0,"webSearchRequests":0,"costUSD":0.9000000000000001,"contextWindow":200000,"maxOutputTokens":32000,"thinkingTokens":0,"cacheCreationEphemeral5mInputTokens":0,"cacheCreationEphemeral1hInputTokens":0,"canonicalModel":"claude-sonnet-4-5","provider":"firstParty","costBasis":"list"}}}',
];
const MAX_TURNS = [
  '{"type":"system","subtype":"status","status":"requesting","session_id":"5cc3ecd5-7fa4-4871-842c-b377ca8efe87","uuid":"ba27764e-7553-4eda-a7e8-3b8675575400"}',
  '{"type":"stream_event","event":{"type":"message_start","message":{"id":"msg_21b2c751f5ec446fba4479899b584cc8","type":"message","role":"assistant","model":"claude-opus-5-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"input_tokens":10,"output_tokens":1}}},"session_id":"5cc3ecd5-7fa4-4871-842c-b377ca8efe87","parent_tool_use_id":null,"uuid":"977fa3aa-c419-4c57-b355-d77ef0f36744","ttft_ms":39,"thinking_display":"updates","api_message_id":"msg_21b2c751f5ec446fba4479899b584cc8"}',
  '{"type":"stream_event","event":{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_927953eaa6e445b5880bff2ebccab3b9","name":"Bash","input":{}}},"session_id":"5cc3ecd5-7fa4-4871-842c-b377ca8efe87","parent_tool_use_id":null,"uuid":"4a3f14fd-8b2f-4370-9b8c-f26c90cee1c2","api_message_id":"msg_21b2c751f5ec446fba4479899b584cc8"}',
  '{"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\\"command\\""}},"session_id":"5cc3ecd5-7fa4-4871-842c-b377ca8efe87","parent_tool_use_id":null,"uuid":"843fbeb6-abe1-40ae-a79a-bf0e22d5666a","api_message_id":"msg_21b2c751f5ec446fba4479899b584cc8"}',
  '{"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":":\\"echo hi\\"}"}},"session_id":"5cc3ecd5-7fa4-4871-842c-b377ca8efe87","parent_tool_use_id":null,"uuid":"d0049a60-64a6-4f7a-b3fb-70d5b6b9499f","api_message_id":"msg_21b2c751f5ec446fba4479899b584cc8"}',
  '{"type":"assistant","message":{"id":"msg_21b2c751f5ec446fba4479899b584cc8","type":"message","role":"assistant","model":"claude-opus-5-5","content":[{"type":"tool_use","id":"toolu_927953eaa6e445b5880bff2ebccab3b9","name":"Bash","input":{"command":"echo hi"}}],"stop_reason":null,"stop_sequence":null,"usage":{"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"input_tokens":10,"output_tokens":1},"context_management":null},"parent_tool_use_id":null,"session_id":"5cc3ecd5-7fa4-4871-842c-b377ca8efe87","uuid":"1ff06fdf-5ce9-4114-a1dc-14fcd77b7605","timestamp":"2026-11-22T07:25:55.236Z","request_id":"req_d225c9f3-958c-4cac-b340-c3c2bdd30673"}',
  '{"type":"stream_event","event":{"type":"content_block_stop","index":0},"session_id":"5cc3ecd5-7fa4-4871-842c-b377ca8efe87","parent_tool_use_id":null,"uuid":"3d1d0f71-371d-42ce-8db0-55774704613c","api_message_id":"msg_21b2c751f5ec446fba4479899b584cc8"}',
  '{"type":"stream_event","event":{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":10}},"session_id":"5cc3ecd5-7fa4-4871-842c-b377ca8efe87","parent_tool_use_id":null,"uuid":"b613e504-5f7a-410d-84bf-dd4c2a9c36e4","api_message_id":"msg_21b2c751f5ec446fba4479899b584cc8"}',
  '{"type":"stream_event","event":{"type":"message_stop"},"session_id":"5cc3ecd5-7fa4-4871-842c-b377ca8efe87","parent_tool_use_id":null,"uuid":"8f27bd1c-7960-45eb-b79e-3858e036106e","api_message_id":"msg_21b2c751f5ec446fba4479899b584cc8"}',
  '{"type":"user","message":{"role":"user","content":[{"tool_use_id":"toolu_927953eaa6e445b5880bff2ebccab3b9","type":"tool_result","content":"hi","is_error":false}]},"parent_tool_use_id":null,"session_id":"5cc3ecd5-7fa4-4871-842c-b377ca8efe87","uuid":"25c3e4b4-ba9e-4413-86b5-5bd21effda11","timestamp":"2026-11-22T07:25:55.314Z","tool_use_result":{"stdout":"hi","stderr":"","interrupted":false,"isImage":false,"noOutputExpected":false},"tool_result_meta":[{"id":"toolu_927953eaa6e445b5880bff2ebccab3b9","permission_decision":{"decision":"accept","source":"config","reason_type":"mode"}}]}',
  '{"type":"system","subtype":"status","status":"requesting","session_id":"5cc3ecd5-7fa4-4871-842c-b377ca8efe87","uuid":"a2c99c3e-79aa-4f71-b80c-4dc1eccd6c87"}',
  '{"type":"stream_event","event":{"type":"message_start","message":{"id":"msg_74d89bae446a4be780a17068e71640db","type":"message","role":"assistant","model":"claude-opus-5-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"input_tokens":10,"output_tokens":1}}},"session_id":"5cc3ecd5-7fa4-4871-842c-b377ca8efe87","parent_tool_use_id":null,"uuid":"bf56be7b-3991-4025-9db7-c18ccdbdbf74","ttft_ms":7,"thinking_display":"updates","api_message_id":"msg_74d89bae446a4be780a17068e71640db"}',
  '{"type":"stream_event","event":{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_26ed5863835842aab7c5f4872c0cc074","name":"Bash","input":{}}},"session_id":"5cc3ecd5-7fa4-4871-842c-b377ca8efe87","parent_tool_use_id":null,"uuid":"439bea38-6d23-49a6-b313-6791360a138a","api_message_id":"msg_74d89bae446a4be780a17068e71640db"}',
  '{"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\\"command\\""}},"session_id":"5cc3ecd5-7fa4-4871-842c-b377ca8efe87","parent_tool_use_id":null,"uuid":"faa4f36d-664c-415d-9efd-cb940c65b7e0","api_message_id":"msg_74d89bae446a4be780a17068e71640db"}',
  '{"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":":\\"echo hi\\"}"}},"session_id":"5cc3ecd5-7fa4-4871-842c-b377ca8efe87","parent_tool_use_id":null,"uuid":"c56dcd30-9a2b-4c4a-ad49-72738a3e9559","api_message_id":"msg_74d89bae446a4be780a17068e71640db"}',
  '{"type":"assistant","message":{"id":"msg_74d89bae446a4be780a17068e71640db","type":"message","role":"assistant","model":"claude-opus-5-5","content":[{"type":"tool_use","id":"toolu_26ed5863835842aab7c5f4872c0cc074","name":"Bash","input":{"command":"echo hi"}}],"stop_reason":null,"stop_sequence":null,"usage":{"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"input_tokens":10,"output_tokens":1},"context_management":null},"parent_tool_use_id":null,"session_id":"5cc3ecd5-7fa4-4871-842c-b377ca8efe87","uuid":"fc5fea4c-a9cf-4423-8567-1c03eef180d5","timestamp":"2026-11-22T07:25:55.347Z","request_id":"req_7cea3bcd-ac17-4b4e-adf8-e30976860272"}',
  '{"type":"stream_event","event":{"type":"content_block_stop","index":0},"session_id":"5cc3ecd5-7fa4-4871-842c-b377ca8efe87","parent_tool_use_id":null,"uuid":"d41c03e1-dd4f-4337-901c-2fbcaadb1aab","api_message_id":"msg_74d89bae446a4be780a17068e71640db"}',
  '{"type":"stream_event","event":{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":10}},"session_id":"5cc3ecd5-7fa4-4871-842c-b377ca8efe87","parent_tool_use_id":null,"uuid":"ffb7cfee-9665-4bc5-8c3a-0fba459c89c2","api_message_id":"msg_74d89bae446a4be780a17068e71640db"}',
  '{"type":"stream_event","event":{"type":"message_stop"},"session_id":"5cc3ecd5-7fa4-4871-842c-b377ca8efe87","parent_tool_use_id":null,"uuid":"90b610e8-7328-4109-9ea8-72c35fcd36e7","api_message_id":"msg_74d89bae446a4be780a17068e71640db"}',
  '{"type":"user","message":{"role":"user","content":[{"tool_use_id":"toolu_26ed5863835842aab7c5f4872c0cc074","type":"tool_result","content":"hi","is_error":false}]},"parent_tool_use_id":null,"session_id":"5cc3ecd5-7fa4-4871-842c-b377ca8efe87","uuid":"b36f5328-9b6d-433a-8ff7-9d11535d909d","timestamp":"2026-11-22T07:25:55.375Z","tool_use_result":{"stdout":"hi","stderr":"","interrupted":false,"isImage":false,"noOutputExpected":false},"tool_result_meta":[{"id":"toolu_26ed5863835842aab7c5f4872c0cc074","permission_decision":{"decision":"accept","source":"config","reason_type":"mode"}}]}',
  '{"duration_api_ms":124,"stop_reason":"tool_use","session_id":"5cc3ecd5-7fa4-4871-842c-b377ca8efe87","total_cost_usd":0.00048,"usage":{"input_tokens":20,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":20,"output_tokens_details":{"thinking_tokens":0},"server_tool_use":{"web_search_requests":0,"web_fetch_requests":0},"service_tier":"standard","cache_creation":{"ephemeral_1h_input_tokens":0,"ephemeral_5m_input_tokens":0},"inference_geo":"","iterations":[],"speed":"standard","fallback_credit":null},"modelUsage":{"claude-opus-5-5":{"inputTokens":20,"outputTokens":20,"cacheReadInputTokens":0,"cacheCreationInputTokens":0,"webSearchRequests":0,"costUSD":0.00048,"contextWindow":1000000,"maxOutputTokens":128000,"thinkingTokens":0,"cacheCreationEphemeral5mInputTokens":0,"cacheCreationEphemeral1hInputTokens":0,"canonicalModel":"claude-opus-5-5","provider":"firstParty","costBasis":"list"}},"permission_denials":[],"terminal_reason":"max_turns","fast_mode_state":"off","fast_mode_disabled_reason":"sdk_opt_in_required","subagent_stats":{"spawned":0,"requested":{"background":0,"foreground":0,"unset":0},"started_in_background":0,"max_depth":0,"spawned_by_subagents":0,"completed":0,"failed":0,"killed":{"parent":0,"user":0,"system":0},"refused":{"depth_limit":0,"concurrency_limit":0,"budget":0},"by_type":{}},"safety_stops":0,"is_error":true,"num_turns":3,"subtype":"error_max_turns","errors":["Reached maximum number of turns (2)"],"type":"result","duration_ms":368,"uuid":"25316687-e81d-420c-9057-41f9aee71828","begun_message_ids":["msg_21b2c751f5ec446fba4479899b584cc8","msg_74d89bae446a4be780a17068e71640db"],"queued_turn_count":0,"result_index":0,"model_usage_since_last_result":{"claude-opus-5-5":{"inputTokens":20,"outputTokens":20,"cacheReadInputTokens":0,"cacheCreationInputTokens":0,"webSearchRequests":0,"costUSD":0.00048,"contextWindow":1000000,"maxOutputTokens":128000,"thinkingTokens":0,"cacheCreationEphemeral5mInputTokens":0,"cacheCreationEphemeral1hInputTokens":0,"canonicalModel":"claude-opus-5-5","provider":"firstParty","costBasis":"list"}}}',
];
const UNAUTHORIZED = [
  '{"type":"system","subtype":"init","cwd":"/tmp/cc-exp/rec-NoZ3mg/workspace","session_id":"06f234a3-4484-4e10-9cf8-d768e5c7a317","tools":["Task","Bash","CronCreate","CronDelete","CronList","Edit","EnterWorktree","ExitWorktree","ListAgents","Monitor","NotebookEdit","Read","ReportFindings","ScheduleWakeup","SendMessage","Skill","TaskStop","ToolSearch","WebFetch","WebSearch","Workflow","Write"],"mcp_servers":[],"model":"claude-opus-5-5","permissionMode":"bypassPermissions","slash_commands":["deep-research","dataviz","update-config","verify","debug","code-review","simplify","batch","fewer-permission-prompts","doctor","loop","claude-api","workflow-authoring","run","run-skill-generator","plugin-authoring","agents","auto-mode-setup","autocompact","clear","color","compact","config","output-style","context","effort","fast","focus","heapdump","init","mcp","model","__remote-workflow","workflow-launch-exec","reload-plugins","reload-skills","rename","security-review","usage","insights","recap","goal","list-agents","team-onboarding"],"terminal_slash_commands":["doctor","color","focus","reload-plugins"],"apiKeySource":"ANTHROPIC_API_KEY","claude_code_version":"2.1.330","output_style":"default","agents":["claude","Explore","general-purpose","Plan","statusline-setup"],"skills":["deep-research","dataviz","update-config","verify","debug","code-review","simplify","batch","fewer-permission-prompts","doctor","loop","claude-api","workflow-authoring","run","run-skill-generator","plugin-authoring"],"plugins":[{"name":"cc-plugin-agents-md","path":"builtin","source":"cc-plugin-agents-md@builtin"},{"name":"cc-plugin-privacy","path":"builtin","source":"cc-plugin-privacy@builtin"},{"name":"cc-plugin-plugin-authoring","path":"builtin","source":"cc-plugin-plugin-authoring@builtin"}],"capabilities":["interrupt_receipt_v1","interrupt_cancel_queued_v1","interrupt_send_now_v1","interrupt_requeue_taken_v1","msg_lifecycle_v1","request_marker_lists_v1","ask_user_question_unanswered_v1","lifecycle_wakeup_source_v1","sdk_mcp_tools_list_changed","sdk_mcp_manifests","mcp_read_resource_v1","mcp_tool_ui_meta_v1","ui_surface_v1","mcp_call_result_not_for_model_v1","mcp_call_check_permissions_v1","voice_call_talk_line_v1","withdrawn_files_note_v2","withdrawn_tools_v1","ui_pane_widget_v1","reload_plugins_refuse_if_busy_v1","get_usage_detached_v1","silent_resend_files_v1"],"analytics_disabled":true,"product_feedback_disabled":true,"served_by_anthropic":false,"uuid":"4d5691d8-fb26-469c-bd87-d7ba174978a4","memory_paths":{"auto":"/tmp/cc-exp/rec-NoZ3mg/home/.claude/projects/-tmp-cc-exp-rec-NoZ3mg-workspace/memory/"},"original_cwd":"/tmp/cc-exp/rec-NoZ3mg/workspace","additional_directories":[],"messaging_socket_path":"/tmp/cc-socks/18843.sock","fast_mode_state":"off","fast_mode_disabled_reason":"sdk_opt_in_required","per_turn_effort_active":true,"ultrathink_available":false,"ultrathink_typed_raises":false,"view_mode":"default"}',
  '{"type":"system","subtype":"status","status":"requesting","session_id":"06f234a3-4484-4e10-9cf8-d768e5c7a317","uuid":"b42eb648-f98f-4355-a75b-3774ff1b1261"}',
  '{"type":"system","subtype":"api_retry","attempt":1,"max_retries":1,"retry_delay_ms":593,"error_status":401,"error":"authentication_failed","session_id":"06f234a3-4484-4e10-9cf8-d768e5c7a317","uuid":"d95ddf9e-35c9-4337-8c67-58fb92205ee7"}',
  '{"type":"assistant","message":{"diagnostics":null,"id":"09504d07-bcb5-475a-816e-0e70380525a2","container":null,"model":"<synthetic>","role":"assistant","stop_details":null,"stop_reason":"stop_sequence","stop_sequence":"","type":"message","usage":{"output_tokens_details":null,"input_tokens":0,"output_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"server_tool_use":{"web_search_requests":0,"web_fetch_requests":0},"service_tier":null,"cache_creation":{"ephemeral_1h_input_tokens":0,"ephemeral_5m_input_tokens":0},"inference_geo":null,"iterations":null,"speed":null,"fallback_credit":null},"content":[{"type":"text","text":"Invalid API key · Fix external API key"}],"context_management":null},"parent_tool_use_id":null,"session_id":"06f234a3-4484-4e10-9cf8-d768e5c7a317","uuid":"2b8bf972-84a2-4b48-95fe-7365567c571a","timestamp":"2026-11-22T07:25:59.843Z","error":"authentication_failed","request_id":"req_0091b1f8-ef63-4ef3-bb7e-87d2479974de","is_api_error_message":true,"api_error_status":401,"api_error_type":"authentication_error"}',
  '{"duration_api_ms":0,"stop_reason":"stop_sequence","session_id":"06f234a3-4484-4e10-9cf8-d768e5c7a317","total_cost_usd":0,"usage":{"output_tokens_details":{"thinking_tokens":0},"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0,"server_tool_use":{"web_search_requests":0,"web_fetch_requests":0},"service_tier":"standard","cache_creation":{"ephemeral_1h_input_tokens":0,"ephemeral_5m_input_tokens":0},"inference_geo":"","iterations":[],"speed":"standard","fallback_credit":null},"modelUsage":{},"permission_denials":[],"terminal_reason":"api_error","fast_mode_state":"off","fast_mode_disabled_reason":"sdk_opt_in_required","subagent_stats":{"spawned":0,"requested":{"background":0,"foreground":0,"unset":0},"started_in_background":0,"max_depth":0,"spawned_by_subagents":0,"completed":0,"failed":0,"killed":{"parent":0,"user":0,"system":0},"refused":{"depth_limit":0,"concurrency_limit":0,"budget":0},"by_type":{}},"safety_stops":0,"is_error":true,"num_turns":1,"subtype":"success","api_error_status":401,"api_error_type":"authentication_error","result":"Invalid API key · Fix external API key","type":"result","duration_ms":812,"uuid":"795da266-0bdc-4c8c-bc00-4a93e4f97d08","begun_message_ids":[],"queued_turn_count":0,"result_index":0,"model_usage_since_last_result":{}}',
];
const OVERLOADED = [
  '{"type":"system","subtype":"status","status":"requesting","session_id":"59947cfb-639d-4b76-85f9-9d5793a9201c","uuid":"cf21fd67-1d46-4c23-8b53-cdf5b0597f4c"}',
  '{"type":"system","subtype":"api_retry","attempt":1,"max_retries":1,"retry_delay_ms":558,"error_status":529,"error":"overloaded","session_id":"59947cfb-639d-4b76-85f9-9d5793a9201c","uuid":"89c53b1e-3617-47e9-9731-216f9f468e63"}',
  '{"type":"assistant","message":{"diagnostics":null,"id":"8cd7493d-67b9-40a3-b437-01de61f59414","container":null,"model":"<synthetic>","role":"assistant","stop_details":null,"stop_reason":"stop_sequence","stop_sequence":"","type":"message","usage":{"output_tokens_details":null,"input_tokens":0,"output_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"server_tool_use":{"web_search_requests":0,"web_fetch_requests":0},"service_tier":null,"cache_creation":{"ephemeral_1h_input_tokens":0,"ephemeral_5m_input_tokens":0},"inference_geo":null,"iterations":null,"speed":null,"fallback_credit":null},"content":[{"type":"text","text":"API Error: 529 Overloaded. This is a server-side issue, usually temporary — try again in a moment. If it persists, check your inference gateway (127.0.0.1:34211)."}],"context_management":null},"parent_tool_use_id":null,"session_id":"59947cfb-639d-4b76-85f9-9d5793a9201c","uuid":"89660d31-cee4-43f1-a427-2148ee42df60","timestamp":"2026-11-22T07:26:04.341Z","error":"server_error","request_id":"req_ed8d9330-a606-4cca-a16e-69216b088563","is_api_error_message":true,"api_error_status":529,"api_error_type":"overloaded_error"}',
  '{"duration_api_ms":0,"stop_reason":"stop_sequence","session_id":"59947cfb-639d-4b76-85f9-9d5793a9201c","total_cost_usd":0,"usage":{"output_tokens_details":{"thinking_tokens":0},"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0,"server_tool_use":{"web_search_requests":0,"web_fetch_requests":0},"service_tier":"standard","cache_creation":{"ephemeral_1h_input_tokens":0,"ephemeral_5m_input_tokens":0},"inference_geo":"","iterations":[],"speed":"standard","fallback_credit":null},"modelUsage":{},"permission_denials":[],"terminal_reason":"api_error","fast_mode_state":"off","fast_mode_disabled_reason":"sdk_opt_in_required","subagent_stats":{"spawned":0,"requested":{"background":0,"foreground":0,"unset":0},"started_in_background":0,"max_depth":0,"spawned_by_subagents":0,"completed":0,"failed":0,"killed":{"parent":0,"user":0,"system":0},"refused":{"depth_limit":0,"concurrency_limit":0,"budget":0},"by_type":{}},"safety_stops":0,"is_error":true,"num_turns":1,"subtype":"success","api_error_status":529,"api_error_type":"overloaded_error","result":"API Error: 529 Overloaded. This is a server-side issue, usually temporary — try again in a moment. If it persists, check your inference gateway (127.0.0.1:34211).","type":"result","duration_ms":831,"uuid":"e2811eed-34c2-4c34-ae17-9516ce814919","begun_message_ids":[],"queued_turn_count":0,"result_index":0,"model_usage_since_last_result":{}}',
];
const NO_CREDENTIALS = [
  '{"type":"system","subtype":"init","cwd":"/tmp/cc-exp/h-25lNED","session_id":"b231e440-cdaf-4ff9-b614-a6ba4bee1464","tools":["Task","Bash","CronCreate","CronDelete","CronList","DesignSync","Edit","EnterWorktree","ExitWorktree","ListAgents","Monitor","NotebookEdit","Read","ReportFindings","ScheduleWakeup","SendMessage","Skill","TaskStop","ToolSearch","WebFetch","WebSearch","Workflow","Write"],"mcp_servers":[],"model":"claude-opus-5-5","permissionMode":"default","slash_commands":["deep-research","design","design-sync","dataviz","update-config","verify","debug","code-review","simplify","batch","fewer-permission-prompts","doctor","loop","claude-api","workflow-authoring","run","run-skill-generator","plugin-authoring","agents","auto-mode-setup","autocompact","clear","color","compact","config","output-style","context","effort","fast","focus","heapdump","init","mcp","model","__remote-workflow","workflow-launch-exec","reload-plugins","reload-skills","rename","security-review","usage","insights","recap","goal","design-consent","design-revoke","list-agents","team-onboarding"],"terminal_slash_commands":["doctor","color","focus","reload-plugins"],"apiKeySource":"none","claude_code_version":"2.1.330","output_style":"default","agents":["claude","Explore","general-purpose","Plan","statusline-setup"],"skills":["deep-research","design","design-sync","dataviz","update-config","verify","debug","code-review","simplify","batch","fewer-permission-prompts","doctor","loop","claude-api","workflow-authoring","run","run-skill-generator","plugin-authoring"],"plugins":[{"name":"cc-plugin-agents-md","path":"builtin","source":"cc-plugin-agents-md@builtin"},{"name":"cc-plugin-telemetry","path":"builtin","source":"cc-plugin-telemetry@builtin"},{"name":"cc-plugin-privacy","path":"builtin","source":"cc-plugin-privacy@builtin"},{"name":"cc-plugin-plugin-authoring","path":"builtin","source":"cc-plugin-plugin-authoring@builtin"}],"capabilities":["interrupt_receipt_v1","interrupt_cancel_queued_v1","interrupt_send_now_v1","interrupt_requeue_taken_v1","msg_lifecycle_v1","request_marker_lists_v1","ask_user_question_unanswered_v1","lifecycle_wakeup_source_v1","sdk_mcp_tools_list_changed","sdk_mcp_manifests","mcp_read_resource_v1","mcp_tool_ui_meta_v1","ui_surface_v1","mcp_call_result_not_for_model_v1","mcp_call_check_permissions_v1","voice_call_talk_line_v1","withdrawn_files_note_v2","withdrawn_tools_v1","ui_pane_widget_v1","reload_plugins_refuse_if_busy_v1","get_usage_detached_v1","silent_resend_files_v1"],"analytics_disabled":false,"product_feedback_disabled":false,"served_by_anthropic":false,"uuid":"674e23f1-bf6d-4d7c-915d-a08f151a655d","memory_paths":{"auto":"/tmp/cc-exp/h-25lNED/.claude/projects/-tmp-cc-exp-h-25lNED/memory/"},"original_cwd":"/tmp/cc-exp/h-25lNED","additional_directories":[],"messaging_socket_path":"/tmp/cc-socks/18518.sock","fast_mode_state":"off","fast_mode_disabled_reason":"sdk_opt_in_required","per_turn_effort_active":true,"ultrathink_available":false,"ultrathink_typed_raises":false,"view_mode":"default"}',
  '{"type":"assistant","message":{"diagnostics":null,"id":"a6366430-54d7-4442-b192-ef91e48b62b2","container":null,"model":"<synthetic>","role":"assistant","stop_details":null,"stop_reason":"stop_sequence","stop_sequence":"","type":"message","usage":{"output_tokens_details":null,"input_tokens":0,"output_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"server_tool_use":{"web_search_requests":0,"web_fetch_requests":0},"service_tier":null,"cache_creation":{"ephemeral_1h_input_tokens":0,"ephemeral_5m_input_tokens":0},"inference_geo":null,"iterations":null,"speed":null,"fallback_credit":null},"content":[{"type":"text","text":"Not logged in · Please run /login"}],"context_management":null},"parent_tool_use_id":null,"session_id":"b231e440-cdaf-4ff9-b614-a6ba4bee1464","uuid":"e779593e-59e5-4372-a43e-dd92d4360fc6","timestamp":"2026-11-22T07:24:42.901Z","error":"authentication_failed","is_api_error_message":true}',
  '{"duration_api_ms":0,"stop_reason":"stop_sequence","session_id":"b231e440-cdaf-4ff9-b614-a6ba4bee1464","total_cost_usd":0,"usage":{"output_tokens_details":{"thinking_tokens":0},"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0,"server_tool_use":{"web_search_requests":0,"web_fetch_requests":0},"service_tier":"standard","cache_creation":{"ephemeral_1h_input_tokens":0,"ephemeral_5m_input_tokens":0},"inference_geo":"","iterations":[],"speed":"standard","fallback_credit":null},"modelUsage":{},"permission_denials":[],"terminal_reason":"api_error","fast_mode_state":"off","fast_mode_disabled_reason":"sdk_opt_in_required","subagent_stats":{"spawned":0,"requested":{"background":0,"foreground":0,"unset":0},"started_in_background":0,"max_depth":0,"spawned_by_subagents":0,"completed":0,"failed":0,"killed":{"parent":0,"user":0,"system":0},"refused":{"depth_limit":0,"concurrency_limit":0,"budget":0},"by_type":{}},"safety_stops":0,"is_error":true,"num_turns":1,"subtype":"success","api_error_status":null,"result":"Not logged in · Please run /login","type":"result","duration_ms":310,"uuid":"e59f4734-f84b-4056-8488-79b7089e5fb9","queued_turn_count":0,"result_index":0,"model_usage_since_last_result":{}}',
];
