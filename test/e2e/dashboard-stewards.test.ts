/**
 * The dashboard's stewards pages in real Chromium against the real `forge serve` with a real git
 * server: the list, one steward's status and runs, Pause / Resume / Wake now, its notes (edited
 * into a new version, hostile text shown as text), and a viewer token refused what only an
 * operator may do. The stewards have no schedule and no triggers, so nothing runs unless a test
 * wakes one (and then it waits for that run to end).
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { stopAllForges, type ForgeProcess } from '../support/forge-server.ts';
import { startGitServer, type GitServer } from '../support/git-http-server.ts';
import { handSteward, startStewardForge, STEWARD_TOKENS } from '../support/steward-world.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const OPERATOR = STEWARD_TOKENS.operator;
const VIEWER = STEWARD_TOKENS.viewer;

interface StewardJson {
  status: string;
  paused: boolean;
  runs: number;
  current_job: string | null;
  notes: { version: number; text: string; by: string } | null;
}
interface NotesJson {
  version: number;
  text: string;
  by: string;
}

let browser: Browser;
let git: GitServer;
let forge: ForgeProcess;

const as = (token: string) => ({ authorization: `Bearer ${token}` });

beforeAll(async () => {
  git = await startGitServer();
  await git.createRepo('app');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  forge = await startStewardForge(git, {
    keeper: handSteward('Keep the changelog tidy.'),
    waker: handSteward('print woken'),
  });
});

afterAll(async () => {
  await browser?.close();
  await stopAllForges();
  await git?.close();
});

async function api<T>(method: string, path: string, body?: unknown, token = OPERATOR) {
  return forge.api<T>(method, path, body, as(token));
}

/** Polls the job (with the operator's token) until it has ended. */
async function ended(id: string): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { status } = (await api<{ status: string }>('GET', `/jobs/${id}`)).body;
    if (['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(status)) return status;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${status} after 30 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A page signed in with `token`, recording console errors and page errors. */
async function openPage(token: string): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  context.setDefaultTimeout(10_000);
  await context.addInitScript((t) => localStorage.setItem('forge.token', t), token);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(err.message));
  page.on('console', (msg) => {
    // A 403 answered on purpose (the viewer test) shows as "Failed to load resource".
    if (msg.type() === 'error' && !msg.text().includes('403')) problems.push(msg.text());
  });
  return { page, problems };
}

const status = (page: Page, text: string) =>
  page.locator('.live-status').getByText(text, { exact: true }).waitFor();

describe('dashboard stewards', () => {
  test('the navigation leads to the stewards, each linking to its page', async () => {
    const { page, problems } = await openPage(OPERATOR);
    await page.goto(`${forge.url}/ui/`);
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Stewards' })
      .click();
    await page.getByRole('heading', { name: 'Steward list' }).waitFor();
    const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: 'keeper' }) });
    await row.waitFor();
    expect(await row.getByText('idle', { exact: true }).count()).toBe(1);
    expect(await row.getByText('only when woken').count()).toBe(1);
    expect(await page.getByRole('link', { name: 'Stewards' }).getAttribute('aria-current')).toBe(
      'page',
    );

    await row.getByRole('link', { name: 'keeper' }).click();
    await page.getByRole('heading', { name: /^Steward keeper/ }).waitFor();
    await status(page, 'idle');
    await page.getByText('Keep the changelog tidy.', { exact: true }).waitFor();
    expect(problems).toEqual([]);
  });

  test('Pause and Resume change its status; Wake now starts a run linked to its job page', async () => {
    const { page, problems } = await openPage(OPERATOR);
    await page.goto(`${forge.url}/ui/#/stewards/waker`);
    await status(page, 'idle');

    await page.getByRole('button', { name: 'Pause' }).click();
    await status(page, 'paused');
    expect((await api<StewardJson>('GET', '/stewards/waker')).body).toMatchObject({
      status: 'paused',
      paused: true,
    });
    await page.getByRole('button', { name: 'Resume' }).click();
    await status(page, 'idle');
    expect((await api<StewardJson>('GET', '/stewards/waker')).body.paused).toBe(false);

    await page.getByRole('button', { name: 'Wake now' }).click();
    const runs = page.getByRole('region', { name: 'Last runs' });
    const link = runs.getByRole('link');
    await link.waitFor();
    const id = (await link.textContent()) ?? '';
    const steward = (await api<StewardJson>('GET', '/stewards/waker')).body;
    expect(steward).toMatchObject({ runs: 1, current_job: id });
    // The run is an ordinary job; let it end before going on.
    expect(await ended(id)).toBe('SUCCEEDED');
    await link.click();
    await page.getByRole('heading', { name: new RegExp(`^Job ${id}`) }).waitFor();
    expect(problems).toEqual([]);
  }, 60_000);

  test('editing the notes saves a new version, by the token that wrote it; older ones are listed', async () => {
    const first = await api<NotesJson>('PUT', '/stewards/keeper/notes', { text: '# Notes\n- one' });
    expect(first.status).toBe(200);
    const { page, problems } = await openPage(OPERATOR);
    await page.goto(`${forge.url}/ui/#/stewards/keeper`);
    const latest = page.getByLabel('Latest notes');
    await latest.getByText('- one').waitFor();
    await page.getByText(`Version ${first.body.version},`).first().waitFor();

    await page.getByRole('button', { name: 'Edit notes' }).click();
    const box = page.getByLabel(/^Notes \(Markdown/);
    expect(await box.inputValue()).toBe('# Notes\n- one');
    await box.fill('# Notes\n- one\n- two, from the dashboard');
    await page.getByRole('button', { name: 'Save notes' }).click();
    const version = first.body.version + 1;
    await page.getByText(`Saved as version ${version}.`).waitFor();
    // The page reads the new version back after saying it was saved.
    await latest.getByText('- two, from the dashboard').waitFor();
    expect(await latest.textContent()).toBe('# Notes\n- one\n- two, from the dashboard');
    await page
      .getByText(new RegExp(`^Version ${version}, .* by api:ops$`))
      .first()
      .waitFor();
    await page
      .getByText(new RegExp(`^Version ${first.body.version}, `))
      .first()
      .waitFor();

    const stored = await api<{ notes: NotesJson; history: NotesJson[] }>(
      'GET',
      '/stewards/keeper/notes',
    );
    expect(stored.body.notes).toMatchObject({
      version,
      text: '# Notes\n- one\n- two, from the dashboard',
      by: 'api:ops',
    });
    expect(stored.body.history[1]).toMatchObject({ version: first.body.version });
    expect(problems).toEqual([]);
  });

  test('hostile notes are shown as the text they are', async () => {
    const hostile =
      '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>\n**bold** [x](javascript:alert(1))';
    expect((await api('PUT', '/stewards/keeper/notes', { text: hostile })).status).toBe(200);
    const { page, problems } = await openPage(OPERATOR);
    await page.goto(`${forge.url}/ui/#/stewards/keeper`);
    const latest = page.getByLabel('Latest notes');
    await latest.getByText('**bold**', { exact: false }).waitFor();
    expect(await latest.textContent()).toBe(hostile);
    expect(await page.locator('main img, main script').count()).toBe(0);
    expect(await latest.getByRole('link').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(problems).toEqual([]);
  });

  test("a viewer token is shown the API's refusal, and nothing changes", async () => {
    const before = (await api<StewardJson>('GET', '/stewards/keeper')).body;
    const { page } = await openPage(VIEWER);
    await page.goto(`${forge.url}/ui/#/stewards/keeper`);
    await status(page, 'idle');
    const refusal =
      'token "watcher" has role viewer, which may only read; use an operator or admin token (forbidden)';

    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByRole('alert').getByText(refusal, { exact: true }).waitFor();
    await page.getByRole('button', { name: 'Edit notes' }).click();
    await page.getByLabel(/^Notes \(Markdown/).fill('taken over');
    await page.getByRole('button', { name: 'Save notes' }).click();
    await page
      .getByRole('form', { name: 'Edit notes' })
      .getByRole('alert')
      .getByText(refusal)
      .waitFor();

    const after = (await api<StewardJson>('GET', '/stewards/keeper')).body;
    expect(after).toMatchObject({ paused: false, status: 'idle' });
    expect(after.notes?.version).toBe(before.notes?.version);
  });
});
