import { Ajv2020 } from 'ajv/dist/2020.js';
// GET /openapi.json: a well-formed OpenAPI 3.1 document with every route the real app serves,
// whose schemas accept and refuse what the server does and describe what it answers.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createMemoryLogs } from '../adapters/logs/memory-logs.ts';
import { createMemoryStore } from '../adapters/store/memory-store.ts';
import { loadConfig } from '../config.ts';
import { EventBus } from '../core/events.ts';
import { parseSubmitRequest } from '../core/submit-job.ts';
import { JOB_STATUSES } from '../domain/job.ts';
import { spec } from '../../test/contracts/store-fixtures.ts';
import { jobRecordSchema, jobSchema } from './api-schemas.ts';
import { createApp } from './app.ts';
import { createJobControl } from '../core/job-control.ts';
import { createStewards } from '../stewards/stewards.ts';
import { parseListQuery } from './routes/jobs.ts';
import { jobRecord, jobSummary } from './serialize.ts';

type Json = Record<string, unknown>;

interface Validator {
  (data: unknown): boolean;
  errors?: unknown;
}
interface Ajv {
  addSchema(schema: object, key: string): Ajv;
  getSchema(ref: string): Validator | undefined;
  validateSchema(schema: object): boolean;
  errors?: unknown;
}

/** Ajv for JSON Schema 2020-12 (OpenAPI 3.1's dialect): no validator of OpenAPI documents is
 *  installed, so the document's structure is checked below and its schemas by Ajv. */
function ajv2020(): Ajv {
  return new Ajv2020({ strict: false, validateFormats: false, allErrors: true }) as unknown as Ajv;
}

const config = loadConfig({}, 'agents: {script: {kind: command, command: [/bin/true]}}');

function app() {
  const logger = pino({ level: 'silent' });
  const store = createMemoryStore();
  const bus = new EventBus(logger);
  return createApp({
    store,
    bus,
    config,
    logs: createMemoryLogs(),
    logger,
    // Every route the server can serve, the stewards' too.
    stewards: createStewards({
      stewards: {},
      store,
      control: createJobControl({ store, bus, config }),
      bus,
      logger,
      redact: (text) => text,
      jobBudgetUsd: () => 1,
    }),
  });
}

async function fetchDocument(): Promise<Json> {
  const res = await app().request('/openapi.json');
  expect(res.status).toBe(200);
  return (await res.json()) as Json;
}

/** Every `$ref` in `node`, with where it was found. */
function refs(node: unknown, at = '#'): Array<[string, string]> {
  if (Array.isArray(node)) return node.flatMap((v, i) => refs(v, `${at}/${i}`));
  if (typeof node !== 'object' || node === null) return [];
  return Object.entries(node).flatMap(([k, v]) =>
    k === '$ref' && typeof v === 'string' ? [[v, at] as [string, string]] : refs(v, `${at}/${k}`),
  );
}

function resolvePointer(doc: Json, pointer: string): unknown {
  return pointer
    .replace(/^#\//, '')
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>((node, key) => (node as Json | undefined)?.[key], doc);
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

describe('GET /openapi.json', () => {
  it('is a well-formed OpenAPI 3.1 document whose every $ref resolves', async () => {
    const doc = await fetchDocument();
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    const info = doc.info as Json;
    expect(typeof info.title).toBe('string');
    expect(typeof info.version).toBe('string');
    const paths = doc.paths as Record<string, Record<string, Json>>;
    const components = doc.components as Record<string, Record<string, Json>>;
    expect(components.securitySchemes?.bearer).toEqual(
      expect.objectContaining({ type: 'http', scheme: 'bearer' }),
    );
    const operationIds = new Set<string>();
    for (const [path, item] of Object.entries(paths)) {
      expect(path).toMatch(/^\//);
      const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
      for (const [method, op] of Object.entries(item)) {
        expect(METHODS, `${method} ${path}`).toContain(method);
        expect(operationIds.has(op.operationId as string), `${op.operationId as string}`).toBe(
          false,
        );
        operationIds.add(op.operationId as string);
        const responses = op.responses as Json;
        expect(Object.keys(responses).length).toBeGreaterThan(0);
        for (const status of Object.keys(responses)) expect(status).toMatch(/^[1-5]\d\d$/);
        const params = (op.parameters ?? []) as Json[];
        const inPath = params.filter((p) => p.in === 'path');
        expect(inPath.map((p) => p.name).sort(), `${method} ${path}`).toEqual(templated);
        for (const p of inPath) expect(p.required).toBe(true);
        for (const p of params) expect(['path', 'query', 'header', 'cookie']).toContain(p.in);
        for (const s of (op.security ?? []) as Json[])
          for (const name of Object.keys(s))
            expect(components.securitySchemes).toHaveProperty(name);
      }
    }
    const all = refs(doc);
    expect(all.length).toBeGreaterThan(10);
    for (const [ref, at] of all) {
      expect(ref, at).toMatch(/^#\//);
      expect(resolvePointer(doc, ref), `${ref} at ${at}`).toBeDefined();
    }
    // Each schema is valid JSON Schema 2020-12.
    const ajv = ajv2020();
    for (const [name, schema] of Object.entries(components.schemas!)) {
      expect(ajv.validateSchema(schema), `${name}: ${JSON.stringify(ajv.errors)}`).toBe(true);
    }
    // Errors are {error, code}.
    expect(components.schemas!.Error).toMatchObject({
      required: ['error', 'code'],
      additionalProperties: false,
    });
  });

  it('describes every route the app registers, with its method', async () => {
    const doc = await fetchDocument();
    const paths = doc.paths as Record<string, Record<string, unknown>>;
    const served = app()
      .routes.filter((r) => !(r.method === 'ALL' && (r.path === '*' || r.path === '/*')))
      .map((r) => ({
        method: r.method.toLowerCase(),
        path: r.path.replace(/:([^/]+)/g, '{$1}').replace(/\/\*$/, '/'),
      }));
    expect(served.length).toBeGreaterThan(10);
    for (const { method, path } of served) {
      expect(paths, `${method} ${path}`).toHaveProperty([path]);
      if (method !== 'all') expect(paths[path], `${method} ${path}`).toHaveProperty(method);
    }
    for (const path of [
      '/jobs',
      '/jobs/{id}/events',
      '/health',
      '/hooks/{source}',
      '/metrics',
      '/mcp',
      '/openapi.json',
      '/.well-known/oauth-protected-resource/mcp',
      '/ui/',
    ]) {
      expect(paths).toHaveProperty([path]);
    }
  });

  it("POST /jobs's request schema accepts and refuses the same bodies as the server", async () => {
    const doc = await fetchDocument();
    const ajv = ajv2020().addSchema(doc, 'doc');
    const validate = ajv.getSchema('doc#/components/schemas/SubmitRequest')!;
    const op = (doc.paths as Record<string, Record<string, Json>>)['/jobs']!.post!;
    expect(op.requestBody).toMatchObject({
      content: { 'application/json': { schema: { $ref: '#/components/schemas/SubmitRequest' } } },
    });
    const samples: unknown[] = [
      { task: 'fix the bug' },
      { task: ' x ', tags: ['a', 'b'], max_retries: 3, inactivity_timeout: '10m', open_pr: true },
      { task: 'x', max_duration: 600, budget_usd: 0.5, max_turns: 1, draft: false },
      {},
      { task: '' },
      { task: ' \n\t ' },
      { task: 'x', unknown: 1 },
      { task: 'x', max_retries: 11 },
      { task: 'x', max_retries: 1.5 },
      { task: 'x', budget_usd: 0 },
      { task: 'x', tags: [''] },
      { task: 'x', tags: Array.from({ length: 51 }, (_, i) => `t${i}`) },
      { task: 'x', max_duration: true },
      { task: 'x', agent: '' },
      { task: 'x'.repeat(100_001) },
      { task: 42 },
      [],
      'a task',
      null,
    ];
    for (const body of samples) {
      let accepted = true;
      try {
        parseSubmitRequest(body);
      } catch {
        accepted = false;
      }
      expect(validate(body), JSON.stringify(body).slice(0, 80)).toBe(accepted);
    }
  });

  it("describes GET /jobs's query as parseListQuery reads it", async () => {
    const doc = await fetchDocument();
    const op = (doc.paths as Record<string, Record<string, Json>>)['/jobs']!.get!;
    const param = (name: string) =>
      (op.parameters as Json[]).find((p) => p.name === name)!.schema as Json;
    expect((param('status').items as Json).enum).toEqual([...JOB_STATUSES]);
    const limit = param('limit');
    expect(parseListQuery({}).limit).toBe(limit.default);
    expect(() => parseListQuery({ limit: String(limit.maximum) })).not.toThrow();
    expect(() => parseListQuery({ limit: String(Number(limit.maximum) + 1) })).toThrow();
    expect(() => parseListQuery({ limit: String(Number(limit.minimum) - 1) })).toThrow();
    const values = (n: number) => Array.from({ length: n }, (_, i) => `t${i}`).join(',');
    const maxItems = Number(param('tags').maxItems);
    expect(() => parseListQuery({ tags: values(maxItems) })).not.toThrow();
    expect(() => parseListQuery({ tags: values(maxItems + 1) })).toThrow();
  });

  it('describes the job JSON serialize.ts produces', async () => {
    const store = createMemoryStore();
    const { job } = await store.create(spec({ parent_id: 'PARENT' }));
    const claim = (await store.claim('runner', 60_000, 'local'))!;
    const failure = { category: 'agent_error' as const, message: 'exit 1' };
    const result = { exit_code: 1, output: 'out', truncated: false, failure, cost_usd: 0.2 };
    await store.finish({ job_id: job.id, attempt: claim.attempt }, 'runner', result, {
      status: 'FAILED',
      failure,
    });
    const record = (await store.get(job.id))!;
    const doc = await fetchDocument();
    const ajv = ajv2020().addSchema(doc, 'doc');
    const validRecord = ajv.getSchema('doc#/components/schemas/JobRecord')!;
    const validJob = ajv.getSchema('doc#/components/schemas/Job')!;
    for (const [json, valid, schema] of [
      [jobRecord(record), validRecord, jobRecordSchema],
      [jobSummary(record), validJob, jobSchema],
    ] as const) {
      const plain = JSON.parse(JSON.stringify(json)) as unknown;
      expect(valid(plain), JSON.stringify(valid.errors)).toBe(true);
      expect(schema.safeParse(plain).error).toBeUndefined();
    }
    expect(validRecord({ ...jobRecord(record), extra: 1 })).toBe(false);
  });
});
