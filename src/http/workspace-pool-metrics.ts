/** Gauges and counters of the workspace pool, read from the pool at scrape time. */
import { Counter, Gauge, type Registry } from 'prom-client';

/** What the metrics read of one repository's pool. */
export interface WorkspacePoolFigures {
  repo: string;
  wanted: number;
  ready: number;
  hits: number;
  misses: number;
}

export function defineWorkspacePoolMetrics(
  registers: Registry[],
  read: () => WorkspacePoolFigures[],
): void {
  new Gauge({
    name: 'forge_workspace_pool_ready',
    help: 'Prepared workspaces waiting for a job, at the latest known base commit, by repository.',
    labelNames: ['repo'] as const,
    registers,
    collect() {
      this.reset();
      for (const p of read()) this.set({ repo: p.repo }, p.ready);
    },
  });
  new Gauge({
    name: 'forge_workspace_pool_size',
    help: 'Prepared workspaces wanted (repos.<name>.workspace_pool), by repository.',
    labelNames: ['repo'] as const,
    registers,
    collect() {
      this.reset();
      for (const p of read()) this.set({ repo: p.repo }, p.wanted);
    },
  });
  new Counter({
    name: 'forge_workspace_pool_claims_total',
    help: 'Checkouts of a pooled repository: served from the pool (hit) or cloned afresh (miss).',
    labelNames: ['repo', 'result'] as const,
    registers,
    // The pool counts; a scrape copies its totals (a counter set from its source, as prom-client's
    // own process metrics are).
    collect() {
      this.reset();
      for (const p of read()) {
        this.inc({ repo: p.repo, result: 'hit' }, p.hits);
        this.inc({ repo: p.repo, result: 'miss' }, p.misses);
      }
    },
  });
}
