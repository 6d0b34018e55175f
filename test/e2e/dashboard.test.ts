/**
 * The dashboard at /ui/ in real Chromium against the real `forge serve`: submit a job from the
 * form, watch its output arrive live, cancel it; the token prompt on a server with tokens; the
 * static files' headers. Set FORGE_SCREENSHOT=1 to save the job page to docs/dashboard.png.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ROOT, startForge, stopAllForges, type ForgeProcess } from '../support/forge-server.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const TOKEN = 'dashboard-test-token-0123456789';

let browser: Browser;

beforeAll(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});

afterAll(async () => {
  await browser?.close();
  await stopAllForges();
});

/** A page that records every request outside `origin` and every console error or page error. */
async function openPage(origin: string): Promise<{
  page: Page;
  foreign: string[];
  problems: string[];
}> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  // Shorter than the test's timeout, so a failure names the locator it waited for.
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  const foreign: string[] = [];
  const problems: string[] = [];
  page.on('request', (req) => {
    if (new URL(req.url()).origin !== origin) foreign.push(req.url());
  });
  page.on('pageerror', (err) => problems.push(err.message));
  page.on('console', (msg) => {
    // A 401 answered on purpose shows as "Failed to load resource"; anything else is a bug
    // (a CSP violation, an exception).
    if (msg.type() === 'error' && !msg.text().includes('401')) problems.push(msg.text());
  });
  return { page, foreign, problems };
}

describe('dashboard', () => {
  let forge: ForgeProcess;

  beforeAll(async () => {
    forge = await startForge();
  });

  test('submit a job, watch its output live, cancel it', async () => {
    const origin = new URL(forge.url).origin;
    const { page, foreign, problems } = await openPage(origin);
    await page.goto(`${forge.url}/ui/`);
    await page.getByRole('heading', { name: 'Job list' }).waitFor();

    await page.getByRole('link', { name: 'New job' }).click();
    await page.getByLabel('Task').fill('lines 40 100');
    await page.getByLabel('Agent').fill('script');
    await page.getByRole('button', { name: 'Submit job' }).click();

    await page.waitForURL(/#\/jobs\/[0-9A-Z]+$/);
    const id = decodeURIComponent(new URL(page.url()).hash.slice('#/jobs/'.length));
    const output = page.getByRole('region', { name: /Output/ }).locator('pre');
    await output.getByText(/^line 4 at /).waitFor();
    await page.getByText('RUNNING', { exact: true }).first().waitFor();
    // Lines arrive while the agent still prints them: the 40th is 3.6 s away.
    expect(await output.getByText(/^line 39 at /).count()).toBe(0);
    const seen = await output.locator('.line').count();
    expect(seen).toBeGreaterThanOrEqual(5);
    expect(seen).toBeLessThan(40);

    if (process.env.FORGE_SCREENSHOT === '1') {
      mkdirSync(join(ROOT, 'docs'), { recursive: true });
      await output.getByText(/^line 9 at /).waitFor();
      await page.screenshot({ path: join(ROOT, 'docs', 'dashboard.png'), fullPage: true });
    }

    await page.getByRole('button', { name: 'Cancel job' }).click();
    await page.locator('.live-status').getByText('CANCELLED', { exact: true }).waitFor();
    await page.getByRole('button', { name: 'Retry job' }).waitFor();
    expect((await forge.job(id)).status).toBe('CANCELLED');

    // Back on the list, the job is there, its row links to its page.
    await page.getByRole('link', { name: 'All jobs' }).click();
    await page.getByRole('link', { name: 'lines 40 100' }).waitFor();
    expect(await page.getByRole('link', { name: 'lines 40 100' }).getAttribute('href')).toBe(
      `#/jobs/${id}`,
    );

    expect(foreign).toEqual([]);
    expect(problems).toEqual([]);
  });

  test("shows a job's follow-up chain, each linked", async () => {
    const parent = await forge.waitFor(await forge.submit('print first'));
    const res = await forge.api<{ id: string }>('POST', `/jobs/${parent.id}/follow-up`, {
      message: 'print next',
    });
    expect(res.status).toBe(202);
    const { page } = await openPage(new URL(forge.url).origin);
    await page.goto(`${forge.url}/ui/#/jobs/${parent.id}`);
    const next = page.getByRole('link', { name: res.body.id });
    await next.waitFor();
    await next.click();
    await page.getByRole('link', { name: parent.id }).waitFor();
    expect(decodeURIComponent(new URL(page.url()).hash)).toBe(`#/jobs/${res.body.id}`);
  });

  test('shows API errors plainly', async () => {
    const { page } = await openPage(new URL(forge.url).origin);
    await page.goto(`${forge.url}/ui/#/new`);
    await page.getByLabel('Task').fill('print hi');
    await page.getByLabel('Agent').fill('nobody');
    await page.getByRole('button', { name: 'Submit job' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/nobody.*\(invalid_request\)$/);
  });

  test('serves only its own files, with a strict CSP', async () => {
    const index = await fetch(`${forge.url}/ui/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(index.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const js = await fetch(`${forge.url}/ui/app.js`);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const again = await fetch(`${forge.url}/ui/app.js`, {
      headers: { 'if-none-match': js.headers.get('etag') ?? '' },
    });
    expect(again.status).toBe(304);
    expect(index.headers.get('content-security-policy')).not.toContain('unsafe');
    const bare = await fetch(`${forge.url}/ui`, { redirect: 'manual' });
    expect([bare.status, bare.headers.get('location')]).toEqual([301, '/ui/']);
    for (const path of ['/ui/nope.js', '/ui/%2e%2e/package.json', '/ui/..%2fpackage.json']) {
      expect((await fetch(`${forge.url}${path}`)).status, path).toBe(404);
    }
  });
});

describe('dashboard with server.tokens', () => {
  test('asks for the token once, keeps it, and is refused a wrong one', async () => {
    const forge = await startForge({
      config: {
        server: { host: '127.0.0.1', port: 0, tokens: [{ name: 'test', token: TOKEN }] },
      },
    });
    const { page, problems } = await openPage(new URL(forge.url).origin);
    await page.goto(`${forge.url}/ui/`);

    const dialog = page.getByRole('dialog', { name: 'API token needed' });
    await dialog.waitFor();
    // Several requests were refused at once; one prompt asks.
    expect(await page.getByRole('dialog').count()).toBe(1);
    await dialog.getByLabel('Token').fill('wrong-token-wrong-token');
    await dialog.getByRole('button', { name: 'Use token' }).click();
    await dialog.getByText(/refused that token/).waitFor();
    await dialog.getByLabel('Token').fill(TOKEN);
    await dialog.getByRole('button', { name: 'Use token' }).click();
    await page.getByRole('heading', { name: 'Job list' }).waitFor();
    expect(await page.getByRole('dialog').count()).toBe(0);
    expect(await page.evaluate(() => localStorage.getItem('forge.token'))).toBe(TOKEN);

    // The kept token also opens the event stream of a job.
    const id = await (async () => {
      const res = await fetch(`${forge.url}/jobs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ task: 'print hello from the token test' }),
      });
      return ((await res.json()) as { id: string }).id;
    })();
    await page.goto(`${forge.url}/ui/#/jobs/${id}`);
    await page.getByText('hello from the token test', { exact: true }).waitFor();
    await page.locator('.live-status').getByText('SUCCEEDED').waitFor();
    expect(await page.getByRole('dialog').count()).toBe(0);
    expect(problems).toEqual([]);
  });
});
