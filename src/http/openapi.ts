/** `GET /openapi.json`. Filled in by the OpenAPI work. */
import { Hono } from 'hono';

export function openApiRoutes(): Hono {
  return new Hono();
}
