/** `forge stewards …`: list, show, pause, resume and wake stewards; read and edit their notes. */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { ForgeClient } from './client.ts';

interface StewardJson {
  name: string;
  repo: string;
  status: string;
  schedule: string | null;
  timezone: string;
  next_run: string | null;
  pending: { reason: string; at: string } | null;
  budget: { per_day: number | null; per_month: number | null; resets_at: string | null };
  spend: { today_usd: number; month_usd: number };
  current_job: string | null;
  runs: number;
  last_runs: Array<{ id: string; status: string; created_at: string; cost_usd: number }>;
  notes: { version: number; text: string; at: string; by: string } | null;
  last_error: { at: string; message: string } | null;
}

interface NotesJson {
  version: number;
  text: string;
  at: string;
  by: string;
  job_id: string | null;
}

type ClientFor = (cmd: Command) => { client: ForgeClient; opts: { json?: boolean } };

const usd = (n: number | null) => (n === null ? '—' : `$${n.toFixed(2)}`);
const when = (iso: string | null) => (iso ? iso.replace('T', ' ').slice(0, 19) : '—');

export function stewardTable(stewards: StewardJson[]): string {
  if (stewards.length === 0) return 'no stewards (configure them under stewards: in forge.yaml)';
  const rows = [['NAME', 'STATUS', 'NEXT RUN', 'TODAY', 'MONTH', 'RUNS', 'REPO']];
  for (const s of stewards)
    rows.push([
      s.name,
      s.status,
      when(s.next_run),
      `${usd(s.spend.today_usd)}/${usd(s.budget.per_day)}`,
      `${usd(s.spend.month_usd)}/${usd(s.budget.per_month)}`,
      String(s.runs),
      s.repo,
    ]);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '),
    )
    .join('\n');
}

export function stewardDetails(s: StewardJson): string {
  const lines = [
    `${s.name}  ${s.status}${s.budget.resets_at ? ` (budget resets ${when(s.budget.resets_at)})` : ''}`,
    `repo ${s.repo}; schedule ${s.schedule ?? 'none'} (${s.timezone}); next run ${when(s.next_run)}`,
    `spent today ${usd(s.spend.today_usd)} of ${usd(s.budget.per_day)}, this month ${usd(s.spend.month_usd)} of ${usd(s.budget.per_month)}`,
    `runs ${s.runs}${s.current_job ? `; current ${s.current_job}` : ''}${s.pending ? `; wake pending (${s.pending.reason} at ${when(s.pending.at)})` : ''}`,
  ];
  if (s.last_error)
    lines.push(`could not start a run (${when(s.last_error.at)}): ${s.last_error.message}`);
  if (s.last_runs.length) {
    lines.push('', 'last runs:');
    for (const r of s.last_runs)
      lines.push(`  ${r.id}  ${r.status.padEnd(9)}  ${when(r.created_at)}  ${usd(r.cost_usd)}`);
  }
  lines.push(
    '',
    s.notes
      ? `notes (version ${s.notes.version}, ${when(s.notes.at)} by ${s.notes.by}):\n${s.notes.text}`
      : 'no notes yet',
  );
  return lines.join('\n');
}

export function addStewardsCommand(
  program: Command,
  clientFor: ClientFor,
  print: (value: unknown) => void,
): void {
  const stewards = program
    .command('stewards')
    .description('long-lived agents: list them, or act on one (see the subcommands)')
    .action(async (_o: unknown, cmd: Command) => {
      const { client, opts } = clientFor(cmd);
      const res = await client.request<{ stewards: StewardJson[] }>('GET', '/stewards');
      print(opts.json ? res : stewardTable(res.stewards));
    });

  const path = (name: string, rest = '') => `/stewards/${encodeURIComponent(name)}${rest}`;

  stewards
    .command('show')
    .description("a steward's state, spend, last runs and notes")
    .argument('<name>')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const { client, opts } = clientFor(cmd);
      const s = await client.request<StewardJson>('GET', path(name));
      print(opts.json ? s : stewardDetails(s));
    });

  for (const [action, what] of [
    ['pause', 'stop starting runs (a running one finishes)'],
    ['resume', 'start runs again'],
    ['wake', 'ask for a run now (one run, whatever the number of wakes)'],
  ] as const) {
    stewards
      .command(action)
      .description(what)
      .argument('<name>')
      .action(async (name: string, _o: unknown, cmd: Command) => {
        const { client, opts } = clientFor(cmd);
        const s = await client.request<StewardJson>('POST', path(name, `/${action}`));
        print(opts.json ? s : `${s.name} ${s.status}${s.pending ? ' (wake pending)' : ''}`);
      });
  }

  stewards
    .command('notes')
    .description("print a steward's notes; --history lists versions; --set FILE replaces them")
    .argument('<name>')
    .option('--history <n>', 'list the last n versions')
    .option('--set <file>', 'replace the notes with this file ("-" reads standard input)')
    .action(async (name: string, o: { history?: string; set?: string }, cmd: Command) => {
      const { client, opts } = clientFor(cmd);
      if (o.set !== undefined) {
        const text = o.set === '-' ? await readStdin() : await readFile(o.set, 'utf8');
        const saved = await client.request<NotesJson>('PUT', path(name, '/notes'), { text });
        print(opts.json ? saved : `notes of ${name}: version ${saved.version}`);
        return;
      }
      const res = await client.request<{ notes: NotesJson | null; history: NotesJson[] }>(
        'GET',
        path(name, `/notes?history=${encodeURIComponent(o.history ?? '1')}`),
      );
      if (opts.json) return print(res);
      if (o.history === undefined)
        return print(res.notes ? res.notes.text : `${name} has no notes yet`);
      print(
        res.history
          .map(
            (v) =>
              `version ${v.version}  ${when(v.at)}  ${v.by}  ${Buffer.byteLength(v.text)} bytes`,
          )
          .join('\n') || `${name} has no notes yet`,
      );
    });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
