/** `GET /openapi.json`: the API's description (public: it holds no data). */
import { Hono } from 'hono';
import { openApiDocument } from './openapi-document.ts';

export function openApiRoutes(): Hono {
  const app = new Hono();
  app.get('/openapi.json', (c) => c.json(openApiDocument()));
  return app;
}
