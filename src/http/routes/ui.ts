/** The dashboard's static files under `/ui/`. Filled in by the dashboard work. */
import { Hono } from 'hono';

export function uiRoutes(): Hono {
  return new Hono();
}
