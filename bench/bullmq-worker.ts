/**
 * A BullMQ worker in a process of its own, as Forge's runner is in `forge serve`: each job spawns
 * the agent command, keeps its output and waits for it to exit. Prints `ready` once it takes jobs;
 * SIGTERM closes it.
 *   node bench/bullmq-worker.ts PORT QUEUE CONCURRENCY ARGV_JSON
 */
import { spawn } from 'node:child_process';
import { Worker } from 'bullmq';

const [port, queue, concurrency, argvJson] = process.argv.slice(2);
const argv = JSON.parse(argvJson ?? '[]') as string[];
if (!port || !queue || !concurrency || argv.length === 0) {
  process.stderr.write('usage: bullmq-worker.ts PORT QUEUE CONCURRENCY ARGV_JSON\n');
  process.exit(2);
}

function runAgent(): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      env: process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => chunks.push(c));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      const output = Buffer.concat(chunks).toString('utf8');
      if (code === 0) resolve(output);
      else reject(new Error(`agent exited with ${code ?? signal}: ${output.slice(-500)}`));
    });
  });
}

const worker = new Worker(queue, runAgent, {
  connection: { host: '127.0.0.1', port: Number(port) },
  concurrency: Number(concurrency),
});
worker.on('error', (err) => process.stderr.write(`worker error: ${err.message}\n`));
await worker.waitUntilReady();
process.stdout.write('ready\n');
process.once('SIGTERM', () => {
  void worker.close().finally(() => process.exit(0));
});
