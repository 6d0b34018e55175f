/**
 * dashboard_latency — the scripted agent prints timestamped lines (`line N at T`); the dashboard's
 * job page in Chromium shows them; the time from the agent's print to the line being in the page
 * (a MutationObserver records when each line's element is added), per line. Both ends stamp
 * `performance.timeOrigin + performance.now()`, milliseconds since the epoch (see measure.ts).
 *
 * Standalone: `npx node bench/dashboard-latency.ts [--quick]` prints one JSON line.
 */
import { chromium } from 'playwright-core';
import { SCRIPTED_AGENT } from '../test/support/forge-server.ts';
import { fmt, type Benchmark } from './benchmark.ts';
import { startBenchForge } from './forge.ts';
import { median, percentile, round } from './measure.ts';
import { Scope } from './scope.ts';

export interface DashboardLatencyResult {
  lines: number;
  print_to_dashboard_ms_p50: number;
  print_to_dashboard_ms_p95: number;
  print_to_dashboard_ms_max: number;
  interval_ms: number;
}

const INTERVAL_MS = 100;
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Runs in the page (this project's types have no DOM): records in `window.__latencies` the
 *  latency of each `line N at T` element added to the output, when the observer hears of it. */
const OBSERVE_LINES = `(() => {
  const latencies = (window.__latencies = []);
  new MutationObserver((records) => {
    const at = performance.timeOrigin + performance.now();
    for (const record of records)
      for (const node of record.addedNodes) {
        const match = /^line \\d+ at ([\\d.]+)$/.exec(node.textContent ?? '');
        if (match) latencies.push(at - Number(match[1]));
      }
  }).observe(document.querySelector('pre.output'), { childList: true });
})()`;

export const dashboardLatency: Benchmark<DashboardLatencyResult> = {
  name: 'dashboard_latency',
  fields: ['lines', 'print_to_dashboard_ms_p50', 'print_to_dashboard_ms_p95'],
  async run({ quick, scope, log }) {
    const lines = quick ? 20 : 50;
    const forge = await startBenchForge(scope, {
      agents: { script: [process.execPath, SCRIPTED_AGENT, '{prompt_file}'] },
      maxConcurrent: 1,
    });
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    scope.defer(() => browser.close());
    const page = await browser.newPage();
    // A head start, so the page is open and listening before the first line is printed.
    const id = await forge.submit(`sleep 2000; lines ${lines} ${INTERVAL_MS}`);
    await page.goto(`${forge.url}/ui/#/jobs/${id}`);
    const output = page.locator('pre.output');
    await output.waitFor();
    const early = await output.getByText(/^line \d+ at /).count();
    if (early > 0) throw new Error(`${early} lines arrived before the observer was in place`);
    await page.evaluate(OBSERVE_LINES);
    log(`watching job ${id} in Chromium`);
    await output.getByText(new RegExp(`^line ${lines - 1} at `)).waitFor({ timeout: 60_000 });
    const latencies = await page.evaluate<number[]>('window.__latencies');
    return {
      lines: latencies.length,
      print_to_dashboard_ms_p50: round(median(latencies)),
      print_to_dashboard_ms_p95: round(percentile(latencies, 95)),
      print_to_dashboard_ms_max: round(Math.max(...latencies)),
      interval_ms: INTERVAL_MS,
    };
  },
  rows: (r) => [
    {
      figure: `print → dashboard p50 (${r.lines} lines, Chromium)`,
      value: fmt(r.print_to_dashboard_ms_p50),
      target: '< 50 ms',
      met: r.print_to_dashboard_ms_p50 < 50,
    },
    { figure: 'print → dashboard p95', value: fmt(r.print_to_dashboard_ms_p95) },
  ],
};

if (import.meta.main) {
  const scope = new Scope();
  try {
    const result = await dashboardLatency.run({
      quick: process.argv.includes('--quick'),
      scope,
      log: (message) => console.error(message),
    });
    console.log(JSON.stringify({ name: dashboardLatency.name, ...result }));
  } finally {
    await scope.close();
  }
}
