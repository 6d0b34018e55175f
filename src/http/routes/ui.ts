/**
 * GET /ui/ — the dashboard: static files from src/ui, no build step. Only the files listed here
 * are served, read once when the routes are made, so no request path ever reaches the file system
 * (no traversal, no directory listing); anything else under /ui/ is 404. The files are public (the
 * page asks for a token and sends it with every API call); the Content-Security-Policy lets the
 * page load and connect only to this server.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Hono } from 'hono';
import { errorBody } from '../errors.ts';

export const UI_DIR = join(import.meta.dirname, '..', '..', 'ui');

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
};

/** The dashboard's files; a new module is served once it is added here. */
export const UI_FILES = [
  'index.html',
  'app.js',
  'api.js',
  'dom.js',
  'event-stream.js',
  'jobs-page.js',
  'cost-chart.js',
  'job-page.js',
  'submit-page.js',
  'stewards-page.js',
  'steward-page.js',
  'steward-notes.js',
  'token-dialog.js',
  'style.css',
  'favicon.svg',
] as const;

export const UI_CSP = [
  "default-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

interface UiFile {
  body: Uint8Array<ArrayBuffer>;
  type: string;
  etag: string;
}

function loadFiles(dir: string): Map<string, UiFile> {
  const files = new Map<string, UiFile>();
  for (const name of UI_FILES) {
    const body = new Uint8Array(readFileSync(join(dir, name)));
    const type = TYPES[name.slice(name.lastIndexOf('.') + 1)];
    if (!type) throw new Error(`src/ui/${name}: no content type for this extension; add one`);
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    files.set(name, { body, type, etag });
  }
  return files;
}

export function uiRoutes(dir: string = UI_DIR): Hono {
  const files = loadFiles(dir);
  const app = new Hono();
  app.get('/ui', (c) => c.redirect('/ui/', 301));
  app.get('/ui/*', (c) => {
    const name = c.req.path.slice('/ui/'.length) || 'index.html';
    const file = files.get(name);
    if (!file) {
      return c.json(errorBody('not_found', `no dashboard file ${c.req.path}; open /ui/`), 404);
    }
    c.header('Content-Type', file.type);
    // Revalidate every time (cheap: 304 by ETag) so a new version of Forge is never half-cached.
    c.header('Cache-Control', 'no-cache');
    c.header('ETag', file.etag);
    c.header('Content-Security-Policy', UI_CSP);
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
    if (c.req.header('if-none-match') === file.etag) return c.body(null, 304);
    return c.body(file.body, 200);
  });
  return app;
}
