#!/usr/bin/env node
// A scripted stand-in for a coding agent, driven by its task. The task is a list of steps, one per
// line or separated by ";":
//   print TEXT          print a line to stdout          stderr TEXT   print a line to stderr
//   sleep MS            wait                             exit CODE     exit now with CODE
//   bytes N             print N bytes of output (lines of 100 bytes)
//   lines N MS          print N numbered lines, one every MS milliseconds, each with a timestamp
//   fail-on A,B CODE    exit with CODE when FORGE_ATTEMPT is one of A,B
//   echo-prompt         print the whole prompt this attempt received
//   write FILE TEXT     write TEXT to FILE in the workspace
//   child MS            start a grandchild that sleeps MS and print "child <pid>"
//   record FILE         append {job, attempt, pid, start} to FILE now and {…, end} at exit
//   env NAME            print NAME=<value or (unset)>
//   ticks N MS          append {…, tick: now} to the record file N times, every MS milliseconds
//   append FILE TEXT    append TEXT and a newline to FILE ($FORGE_JOB_ID in TEXT is the job's id)
//   cat FILE            print FILE's lines (nothing when it is missing)
//   cost USD            print a Claude Code stream-json result line charging USD (for budgets)
// On a retry Forge prefixes the prompt with context; the steps are read after the last "The task:" line.
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';

const prompt = readFileSync(process.env.FORGE_PROMPT_FILE ?? process.argv[2], 'utf8');
const marker = prompt.lastIndexOf('\nThe task:\n');
const script = marker === -1 ? prompt : prompt.slice(marker + '\nThe task:\n'.length);
const steps = script
  .split(/[;\n]/)
  .map((s) => s.trim())
  .filter(Boolean);
const attempt = Number(process.env.FORGE_ATTEMPT);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const out = (text) =>
  new Promise((r) => (process.stdout.write(`${text}\n`) ? r() : process.stdout.once('drain', r)));
let recordFile = null;
const record = (extra) =>
  recordFile &&
  appendFileSync(
    recordFile,
    `${JSON.stringify({ job: process.env.FORGE_JOB_ID, attempt, pid: process.pid, ...extra })}\n`,
  );
const finish = (code) => {
  record({ end: Date.now() });
  process.exitCode = code;
};

for (const step of steps) {
  const [cmd, ...rest] = step.split(' ');
  const arg = rest.join(' ');
  if (cmd === 'print') await out(arg);
  else if (cmd === 'stderr') process.stderr.write(`${arg}\n`);
  else if (cmd === 'sleep') await sleep(Number(arg));
  else if (cmd === 'exit') {
    finish(Number(arg));
    process.stdout.write('', () => process.exit(Number(arg)));
    await sleep(1e9);
  } else if (cmd === 'bytes') {
    let left = Number(arg);
    let n = 0;
    while (left > 0) {
      const line = `${String(n++).padStart(8, '0')} ${'x'.repeat(90)}`.slice(
        0,
        Math.min(99, left - 1),
      );
      await out(line);
      left -= line.length + 1;
    }
  } else if (cmd === 'lines') {
    const [count, every] = rest.map(Number);
    for (let i = 0; i < count; i++) {
      await out(`line ${i} at ${performance.timeOrigin + performance.now()}`);
      if (every) await sleep(every);
    }
  } else if (cmd === 'fail-on') {
    const [list, code] = rest;
    if (list.split(',').map(Number).includes(attempt)) {
      await out(`failing on attempt ${attempt} with ${code}`);
      finish(Number(code));
      process.exit(Number(code));
    }
  } else if (cmd === 'echo-prompt') await out(prompt);
  else if (cmd === 'write') writeFileSync(rest[0], rest.slice(1).join(' '));
  else if (cmd === 'append')
    appendFileSync(
      rest[0],
      `${rest.slice(1).join(' ').replaceAll('$FORGE_JOB_ID', process.env.FORGE_JOB_ID ?? '')}\n`,
    );
  else if (cmd === 'cat') {
    if (existsSync(arg)) for (const line of readFileSync(arg, 'utf8').split('\n')) await out(line);
  } else if (cmd === 'cost')
    await out(
      JSON.stringify({
        type: 'result',
        subtype: 'success',
        is_error: false,
        total_cost_usd: Number(arg),
        num_turns: 1,
        result: `charged ${arg}`,
      }),
    );
  else if (cmd === 'child') {
    const child = spawn(process.execPath, ['-e', `setTimeout(() => {}, ${Number(arg)})`], {
      stdio: 'ignore',
    });
    await out(`child ${child.pid}`);
  } else if (cmd === 'record') {
    recordFile = arg;
    record({ start: Date.now() });
  } else if (cmd === 'ticks') {
    const [count, every] = rest.map(Number);
    for (let i = 0; i < count; i++) {
      record({ tick: Date.now() });
      await sleep(every);
    }
  } else if (cmd === 'env') await out(`${arg}=${process.env[arg] ?? '(unset)'}`);
  else if (cmd === 'pid') await out(`pid ${process.pid}`);
  else {
    process.stderr.write(`scripted-agent: unknown step "${step}"\n`);
    finish(64);
    process.exit(64);
  }
}
finish(0);
