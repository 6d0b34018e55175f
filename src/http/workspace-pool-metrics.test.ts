import { Hono } from 'hono';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../adapters/store/memory-store.ts';
import { EventBus } from '../core/events.ts';
import { createMetrics } from './metrics.ts';
import type { WorkspacePoolFigures } from './workspace-pool-metrics.ts';

function scrapeWith(read?: () => WorkspacePoolFigures[]) {
  const logger = pino({ level: 'silent' });
  const metrics = createMetrics({
    store: createMemoryStore(),
    bus: new EventBus(logger),
    logger,
    ...(read ? { workspacePools: read } : {}),
  });
  const app = new Hono().route('/', metrics.routes);
  return async () => (await app.request('/metrics')).text();
}

describe('workspace pool metrics', () => {
  it('reports each pool as it is at the scrape: ready, wanted, and claims that hit or missed', async () => {
    const pools: WorkspacePoolFigures[] = [
      { repo: 'app', wanted: 4, ready: 1, hits: 2, misses: 3 },
    ];
    const scrape = scrapeWith(() => pools);
    let text = await scrape();
    expect(text).toContain('forge_workspace_pool_ready{repo="app"} 1');
    expect(text).toContain('forge_workspace_pool_size{repo="app"} 4');
    expect(text).toContain('forge_workspace_pool_claims_total{repo="app",result="hit"} 2');
    expect(text).toContain('forge_workspace_pool_claims_total{repo="app",result="miss"} 3');
    pools[0] = { repo: 'app', wanted: 4, ready: 4, hits: 7, misses: 3 };
    text = await scrape();
    expect(text).toContain('forge_workspace_pool_ready{repo="app"} 4');
    expect(text).toContain('forge_workspace_pool_claims_total{repo="app",result="hit"} 7');
  });

  it('has no pool metrics when no repository has a pool', async () => {
    expect(await scrapeWith()()).not.toContain('forge_workspace_pool');
  });
});
