/** Building requests to Forge's API and checking its answers, the same way whether the API runs
 *  in process (`app.request()`) or as the real server over HTTP. */
import { expect } from 'vitest';

export interface ApiResponse<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
}

export interface ErrorJson {
  error: string;
  code: string;
}

export interface ListJson {
  jobs: Array<
    Record<string, unknown> & { id: string; status: string; created_at: string; tags: string[] }
  >;
  total: number;
}

/** A request with a JSON body (a string is sent as it is, so tests can send broken JSON). */
export function apiRequest(
  method: string,
  body?: unknown,
  headers: Record<string, string> = {},
): RequestInit {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] = 'application/json';
  }
  return init;
}

/** The answer with its body parsed as JSON when it is JSON, else as text (logs). */
export async function apiAnswer<T>(res: Response): Promise<ApiResponse<T>> {
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // plain text
  }
  return { status: res.status, body: parsed as T, headers: res.headers };
}

/** Every error answer is JSON with a non-empty `error` a person can read and a machine `code`. */
export function expectError(
  res: ApiResponse<unknown>,
  status: number,
  code: string,
  mentions?: string | RegExp,
): ErrorJson {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/application\/json/);
  const body = res.body as ErrorJson;
  expect(typeof body.error).toBe('string');
  expect(body.error.trim().length).toBeGreaterThan(0);
  expect(body.code).toBe(code);
  if (mentions !== undefined) expect(body.error).toMatch(mentions);
  return body;
}
