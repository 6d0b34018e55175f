// Talks to Forge's API: the bearer token (asked for once on a 401, kept in localStorage) goes
// with every request; errors become ApiError with the server's `{error, code}`.
import { askForToken } from './token-dialog.js';

const TOKEN_KEY = 'forge.token';
/** The API's root: the dashboard is served at <root>/ui/. */
const ROOT = new URL('../', import.meta.url);

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error ?? `the server answered ${status}`);
    this.status = status;
    this.code = body?.code ?? null;
  }
}

export function savedToken() {
  return localStorage.getItem(TOKEN_KEY);
}

export function forgetToken() {
  localStorage.removeItem(TOKEN_KEY);
}

/**
 * Sends a request to `path` (relative to the API root, e.g. `jobs?limit=20`) and returns the
 * Response. On 401 asks for a token (one prompt however many requests were refused) and tries
 * again; throws ApiError('unauthorized') when the person dismisses the prompt.
 */
export async function request(method, path, { body, headers = {}, signal } = {}) {
  for (;;) {
    const token = savedToken();
    const res = await fetch(new URL(path, ROOT), {
      method,
      signal,
      headers: {
        Accept:
          method === 'GET' && path.endsWith('/events') ? 'text/event-stream' : 'application/json',
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (res.status !== 401) return res;
    const refused = await readError(res);
    // Sent before someone entered a newer token: try that one instead of asking again.
    if (savedToken() !== token) continue;
    const entered = await askForToken(
      token ? `The server refused that token: ${refused.message}` : null,
    );
    if (entered === null) throw refused;
    localStorage.setItem(TOKEN_KEY, entered);
  }
}

export async function readError(res) {
  let body = null;
  try {
    body = await res.json();
  } catch {
    // not JSON: the status says enough
  }
  return new ApiError(res.status, body);
}

/** A request whose answer is JSON; throws ApiError unless the status is 2xx. */
export async function api(method, path, body) {
  const res = await request(method, path, body === undefined ? {} : { body });
  if (!res.ok) throw await readError(res);
  return res.json();
}
