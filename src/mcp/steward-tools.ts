/**
 * The stewards as MCP tools, over the same service as GET/POST /stewards…: the same views, the
 * same messages. Reading is for every token; pausing, resuming, waking and editing notes need a
 * role that may write (the caller's `write` wrapper refuses the others, as the API's 403 does).
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { ForgeError } from '../domain/errors.ts';
import type { Stewards } from '../stewards/stewards.ts';

type Tool = (run: () => Promise<unknown>) => Promise<CallToolResult>;

export interface StewardTools {
  /** The configured stewards; absent when none are configured. */
  stewards: Stewards | undefined;
  /** Runs a reading tool's body. */
  read: Tool;
  /** Runs a changing tool's body once the caller's role may write. */
  write: Tool;
  /** Who changes things, for the notes' history and a wake's `by` (`mcp:<token name>` or `mcp`). */
  by: string;
}

const name = z.string().min(1).max(200).describe('steward name (from list_stewards)');

/** The service, or the API's not-found answer when no steward is configured at all. */
function need(stewards: Stewards | undefined, steward: string): Stewards {
  if (!stewards)
    throw new ForgeError(
      'not_found',
      `no steward named "${steward}" (stewards: none configured; add them under stewards: in forge.yaml)`,
    );
  return stewards;
}

/** `history` as GET /stewards/{name}/notes takes it: 1 to 100, default 20. */
function historyLimit(history: number | undefined): number {
  const limit = history ?? 20;
  if (!Number.isInteger(limit) || limit < 1 || limit > 100)
    throw new ForgeError(
      'invalid_request',
      `history: "${limit}" must be a whole number from 1 to 100`,
    );
  return limit;
}

export function registerStewardTools(server: McpServer, tools: StewardTools): void {
  const { stewards, read, write, by } = tools;

  server.registerTool(
    'list_stewards',
    {
      description:
        "List the stewards (long-lived agents): each one's status, next run, spend against budget and notes.",
    },
    () => read(async () => ({ stewards: stewards ? await stewards.list() : [] })),
  );

  server.registerTool(
    'get_steward',
    {
      description:
        'Get one steward: status, next run, spend today and this month, last runs (job ids) and latest notes.',
      inputSchema: { name },
    },
    ({ name }) => read(() => need(stewards, name).view(name)),
  );

  server.registerTool(
    'pause_steward',
    {
      description: 'Pause a steward: no run starts until it is resumed (wakes are kept).',
      inputSchema: { name },
    },
    ({ name }) => write(() => need(stewards, name).pause(name)),
  );

  server.registerTool(
    'resume_steward',
    {
      description: 'Resume a paused steward; a wake that came while paused starts a run now.',
      inputSchema: { name },
    },
    ({ name }) => write(() => need(stewards, name).resume(name)),
  );

  server.registerTool(
    'wake_steward',
    {
      description:
        'Ask a steward for a run now (joins any wake already waiting; starts after a current run ends).',
      inputSchema: { name },
    },
    ({ name }) => write(() => need(stewards, name).wake(name, 'api', by)),
  );

  server.registerTool(
    'get_steward_notes',
    {
      description:
        "Read a steward's notes (its Markdown memory between runs): the latest and older versions.",
      inputSchema: {
        name,
        history: z
          .number()
          .int()
          .optional()
          .describe('how many versions, newest first (1-100, default 20)'),
      },
    },
    ({ name, history }) =>
      read(async () => {
        const list = await need(stewards, name).notesHistory(name, historyLimit(history));
        return { notes: list[0] ?? null, history: list };
      }),
  );

  server.registerTool(
    'update_steward_notes',
    {
      description:
        "Replace a steward's notes with new Markdown text; the next run reads them (kept as a new version).",
      inputSchema: {
        name,
        text: z.string().describe("the steward's notes in full, Markdown"),
        version: z
          .number()
          .int()
          .min(0)
          .optional()
          .describe('the version these notes were edited from; refused if a newer one exists'),
      },
    },
    ({ name, text, version }) =>
      write(() => need(stewards, name).editNotes(name, text, by, version)),
  );
}
