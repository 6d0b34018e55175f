#!/usr/bin/env node
// An agent that writes 100-byte numbered lines as fast as it can for a while, one write per line
// (as agents print: a JSON event or a log line at a time), then records what it wrote.
//   line-writer.mjs "SECONDS RECORD_FILE"   (one argument: Forge passes the prompt as one)
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';

const [seconds, record] = process.argv[2].split(' ');
const filler = 'x'.repeat(88);
const start = performance.now();
const end = start + Number(seconds) * 1000;
let lines = 0;
let last = '';
for (;;) {
  if ((lines & 255) === 0 && performance.now() >= end) break;
  last = `${String(lines++).padStart(10, '0')} ${filler}`;
  if (!process.stdout.write(`${last}\n`)) await once(process.stdout, 'drain');
}
writeFileSync(
  record,
  JSON.stringify({ lines, bytes: lines * 100, ms: performance.now() - start, last }),
);
