/** The `forge` command line. Talks to a running server over HTTP (except serve and doctor). */
import { Command, Option } from 'commander';
import { parseDuration } from '../domain/duration.ts';
import { ApiError, ForgeClient, readSse } from './client.ts';
import { EXIT, exitCodeForStatus } from './exit-codes.ts';
import { jobDetails, jobTable } from './format.ts';
import { addStewardsCommand } from './stewards-command.ts';

const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

interface GlobalOpts {
  url: string;
  token?: string;
  json?: boolean;
}

function clientFor(cmd: Command): { client: ForgeClient; opts: GlobalOpts } {
  const opts = cmd.optsWithGlobals<GlobalOpts>();
  return {
    client: new ForgeClient({ url: opts.url, ...(opts.token ? { token: opts.token } : {}) }),
    opts,
  };
}

function print(value: unknown): void {
  process.stdout.write(`${typeof value === 'string' ? value : JSON.stringify(value, null, 2)}\n`);
}

/** Follows a job's event stream, printing output lines; resolves with its final status. */
async function follow(client: ForgeClient, id: string, json: boolean): Promise<string> {
  let lastId: string | undefined;
  let status = 'UNKNOWN';
  for (let tries = 0; tries < 30; tries++) {
    try {
      const res = await client.raw(`/jobs/${id}/events`, lastId ? { 'last-event-id': lastId } : {});
      for await (const msg of readSse(res.body!)) {
        lastId = msg.id ?? lastId;
        const data = JSON.parse(msg.data) as {
          line?: string;
          status?: string;
          failure?: { category: string; message: string };
        };
        if (json) print(JSON.stringify({ event: msg.event, ...data }));
        else if (msg.event === 'output') process.stdout.write(`${data.line}\n`);
        if (msg.event === 'status' && data.status) {
          status = data.status;
          if (!json && TERMINAL.has(status)) {
            process.stderr.write(
              `job ${id} ${status}${data.failure ? ` — ${data.failure.category}: ${data.failure.message}` : ''}\n`,
            );
          }
        }
      }
      if (TERMINAL.has(status)) return status;
    } catch (err) {
      if (err instanceof ApiError && err.status !== 0) throw err;
    }
    await new Promise((r) => setTimeout(r, 1000)); // the server restarted or the stream dropped: resume
  }
  throw new ApiError(
    0,
    'unreachable',
    `lost the event stream of job ${id}; run "forge logs -f ${id}" again`,
  );
}

export function buildProgram(): Command {
  const program = new Command('forge')
    .description('Forge: a self-hosted factory for autonomous coding agents')
    .addOption(
      new Option('--url <url>', 'Forge server URL')
        .env('FORGE_URL')
        .default('http://127.0.0.1:7700'),
    )
    .addOption(new Option('--token <token>', 'API token').env('FORGE_TOKEN'))
    .option('--json', 'machine-readable output')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('serve')
    .description('run the server (API + runner)')
    .option('-c, --config <file>', 'config file (default forge.yaml or FORGE_CONFIG)')
    // The server (and doctor) are loaded only for their commands: the others, `forge worker` in a
    // pod above all, start in a fraction of the time without them.
    .action(async (o: { config?: string }) => {
      const { serveCommand } = await import('./serve.ts');
      await serveCommand(o);
    });

  program
    .command('submit')
    .description('submit a task; prints the job id')
    .argument('<task...>', 'what the agent should do')
    .option('-a, --agent <name>', 'agent to run')
    .option('-p, --profile <name>', 'profile to use')
    .option('--max-retries <n>', 'retries after the first attempt', (v) => Number(v))
    .option('--budget <usd>', 'budget in USD for the whole job', (v) => Number(v))
    .option('--tag <tag...>', 'tags')
    .option('--inactivity-timeout <duration>', 'e.g. 10m')
    .option('--max-duration <duration>', 'e.g. 2h')
    .option('--idempotency-key <key>', 'same key, same job')
    .option('-r, --repo <repo>', 'repository: a name under repos: or a clone URL')
    .option('--base-branch <branch>', 'branch to start from (default: the repository default)')
    .option('--branch <branch>', 'branch for the work (default forge/<job id>)')
    .option('--no-pr', 'push the branch but do not open a pull request')
    .option('-m, --model <model>', 'model for agents that take one')
    .option('--max-turns <n>', 'most agent turns per attempt', (v) => Number(v))
    .option('-w, --wait', 'follow the job to its end; exit 0 only if it SUCCEEDED')
    .action(async (words: string[], o: Record<string, unknown>, cmd: Command) => {
      const { client, opts } = clientFor(cmd);
      const body = {
        task: words.join(' '),
        ...(o.agent ? { agent: o.agent } : {}),
        ...(o.profile ? { profile: o.profile } : {}),
        ...(o.maxRetries !== undefined ? { max_retries: o.maxRetries } : {}),
        ...(o.budget !== undefined ? { budget_usd: o.budget } : {}),
        ...(o.tag ? { tags: o.tag } : {}),
        ...(o.inactivityTimeout ? { inactivity_timeout: o.inactivityTimeout } : {}),
        ...(o.maxDuration ? { max_duration: o.maxDuration } : {}),
        ...(o.repo ? { repo: o.repo } : {}),
        ...(o.baseBranch ? { base_branch: o.baseBranch } : {}),
        ...(o.branch ? { branch: o.branch } : {}),
        ...(o.repo && o.pr === false ? { open_pr: false } : {}),
        ...(o.model ? { model: o.model } : {}),
        ...(o.maxTurns !== undefined ? { max_turns: o.maxTurns } : {}),
        source: 'cli',
      };
      const key = o.idempotencyKey as string | undefined;
      const job = await client.request<{ id: string }>(
        'POST',
        '/jobs',
        body,
        key ? { 'idempotency-key': key } : {},
      );
      print(opts.json ? job : job.id);
      if (o.wait) {
        const status = await follow(client, job.id, !!opts.json);
        process.exitCode = status === 'SUCCEEDED' ? EXIT.ok : EXIT.jobFailed;
      }
    });

  program
    .command('list')
    .description('list jobs, newest first')
    .option('-s, --status <statuses>', 'comma-separated statuses')
    .option('-t, --tags <tags>', 'comma-separated tags (all must match)')
    .option('-l, --limit <n>', 'how many', '20')
    .option('-o, --offset <n>', 'skip', '0')
    .action(
      async (
        o: { status?: string; tags?: string; limit: string; offset: string },
        cmd: Command,
      ) => {
        const { client, opts } = clientFor(cmd);
        const q = new URLSearchParams({
          limit: o.limit,
          offset: o.offset,
          ...(o.status ? { status: o.status } : {}),
          ...(o.tags ? { tags: o.tags } : {}),
        });
        const res = await client.request<{ jobs: Parameters<typeof jobTable>[0]; total: number }>(
          'GET',
          `/jobs?${q.toString()}`,
        );
        print(opts.json ? res : jobTable(res.jobs, res.total));
      },
    );

  program
    .command('show')
    .description('show a job with its attempts')
    .argument('<id>')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const { client, opts } = clientFor(cmd);
      const job = await client.request<Parameters<typeof jobDetails>[0]>(
        'GET',
        `/jobs/${encodeURIComponent(id)}`,
      );
      print(opts.json ? job : jobDetails(job));
    });

  program
    .command('logs')
    .description("print a job's output (latest attempt); -f follows it live to the end")
    .argument('<id>')
    .option('-f, --follow', 'stream output as it happens until the job ends')
    .option('--attempt <n>', 'attempt number (default latest)')
    .action(async (id: string, o: { follow?: boolean; attempt?: string }, cmd: Command) => {
      const { client, opts } = clientFor(cmd);
      if (o.follow) {
        const status = await follow(client, encodeURIComponent(id), !!opts.json);
        process.exitCode = status === 'SUCCEEDED' ? EXIT.ok : EXIT.jobFailed;
        return;
      }
      const res = await client.raw(
        `/jobs/${encodeURIComponent(id)}/log${o.attempt ? `?attempt=${encodeURIComponent(o.attempt)}` : ''}`,
      );
      process.stdout.write(await res.text());
    });

  for (const action of ['cancel', 'retry'] as const) {
    program
      .command(action)
      .description(
        action === 'cancel'
          ? 'cancel a pending or running job'
          : 'put a failed or cancelled job back in the queue',
      )
      .argument('<id>')
      .action(async (id: string, _o: unknown, cmd: Command) => {
        const { client, opts } = clientFor(cmd);
        const job = await client.request<{ id: string; status: string }>(
          'POST',
          `/jobs/${encodeURIComponent(id)}/${action}`,
        );
        print(opts.json ? job : `${job.id} ${job.status}`);
      });
  }

  program
    .command('follow-up')
    .description("queue the next piece of work on a finished job's branch (same pull request)")
    .argument('<id>')
    .argument('<message...>', 'what to do next')
    .option('--budget <usd>', 'most USD the follow-up may spend', Number)
    .option('--max-turns <n>', 'most agent turns per attempt', Number)
    .option('--model <model>', 'model, for agents that take one')
    .action(
      async (
        id: string,
        words: string[],
        o: { budget?: number; maxTurns?: number; model?: string },
        cmd: Command,
      ) => {
        const { client, opts } = clientFor(cmd);
        const job = await client.request<{ id: string; status: string; parent_id: string }>(
          'POST',
          `/jobs/${encodeURIComponent(id)}/follow-up`,
          {
            message: words.join(' '),
            ...(o.budget !== undefined ? { budget_usd: o.budget } : {}),
            ...(o.maxTurns !== undefined ? { max_turns: o.maxTurns } : {}),
            ...(o.model ? { model: o.model } : {}),
          },
        );
        print(opts.json ? job : `${job.id} ${job.status} (follows ${job.parent_id})`);
      },
    );

  addStewardsCommand(program, clientFor, print);

  program
    .command('doctor')
    .description('check config, sandbox and agents')
    .option('-c, --config <file>', 'config file')
    .action(async (o: { config?: string }, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOpts>();
      const { doctorChecks } = await import('./doctor.ts');
      const checks = await doctorChecks(o.config);
      if (opts.json) print(checks);
      else
        for (const c of checks)
          print(
            `${c.level === 'ok' ? 'ok  ' : c.level === 'warn' ? 'WARN' : 'FAIL'}  ${c.name}: ${c.detail}`,
          );
      process.exitCode = checks.some((c) => c.level === 'error') ? EXIT.config : EXIT.ok;
    });

  program
    .command('mcp')
    .description(
      'serve MCP on stdio, relayed to the Forge at --url (e.g. claude mcp add forge -- npx forge mcp)',
    )
    .action(async (_o: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOpts>();
      // Loaded only for this command: the other commands need no MCP SDK.
      const { runStdioBridge } = await import('../mcp/stdio-bridge.ts');
      await runStdioBridge({
        url: opts.url,
        ...(opts.token ? { token: opts.token } : {}),
        log: (line) => process.stderr.write(`${line}\n`),
      });
    });

  program
    .command('worker')
    .description(
      'run one attempt for a Forge server elsewhere (in a Kubernetes pod); the attempt token comes from FORGE_WORKER_TOKEN or --token-file, never the command line',
    )
    .option('--dir <dir>', "the attempt's directory in this worker", '/forge')
    .option('--token-file <file>', 'read the attempt token from this file')
    .option('--give-up-after <duration>', 'stop when Forge stays unreachable this long', '10m')
    .option('--warm', 'a warm pod: wait for Forge to offer this pod an attempt (FORGE_POOL_TOKEN)')
    .action(
      async (
        o: { dir: string; tokenFile?: string; giveUpAfter: string; warm?: boolean },
        cmd: Command,
      ) => {
        const opts = cmd.optsWithGlobals<GlobalOpts>();
        const giveUpAfterMs = parseDuration(o.giveUpAfter);
        if (giveUpAfterMs === null) {
          process.stderr.write(
            `forge: --give-up-after "${o.giveUpAfter}" is no duration (e.g. 90s, 10m)\n`,
          );
          process.exitCode = EXIT.usage;
          return;
        }
        // Loaded only for this command: a worker needs none of the server, and the server none of it.
        const { workerCommand } = await import('../worker/worker-command.ts');
        process.exitCode = await workerCommand({
          url: opts.url,
          dir: o.dir,
          giveUpAfterMs,
          ...(o.tokenFile ? { tokenFile: o.tokenFile } : {}),
          ...(o.warm ? { warm: true } : {}),
        });
      },
    );

  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    const e = err as { code?: string; exitCode?: number };
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) {
      process.exitCode =
        e.code === 'commander.helpDisplayed' || e.code === 'commander.version'
          ? EXIT.ok
          : EXIT.usage;
      return;
    }
    if (err instanceof ApiError) {
      process.stderr.write(`forge: ${err.message}\n`);
      process.exitCode = err.status === 0 ? EXIT.unavailable : exitCodeForStatus(err.status);
      return;
    }
    const code = (err as { code?: string }).code;
    process.stderr.write(`forge: ${(err as Error).message}\n`);
    process.exitCode =
      code === 'config' ? EXIT.config : code === 'conflict' ? EXIT.conflict : EXIT.unavailable;
  }
}
