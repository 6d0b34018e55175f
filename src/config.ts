/**
 * forge.yaml: every key optional, validated at start-up with every problem reported at once.
 * `${NAME}` in any string reads the environment; FORGE_* variables override the file.
 */
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseDuration } from './domain/duration.ts';
import { ForgeError } from './domain/errors.ts';
import { configSecrets, tooShort } from './secrets.ts';
import { stewardsSchema } from './config-stewards.ts';

const duration = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const ms = parseDuration(value);
  if (ms === null) {
    ctx.addIssue({
      code: 'custom',
      message: `"${value}" is not a duration; use e.g. 500ms, 3s, 10m, 2h`,
    });
    return z.NEVER;
  }
  return ms;
});

const name = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'use letters, digits, ".", "_" or "-"');

const tokenSchema = z.strictObject({
  name: z.string().min(1),
  token: z.string().min(16, 'tokens must be at least 16 characters'),
  role: z.enum(['admin', 'operator', 'viewer']).default('admin'),
});

const envMap = z.record(z.string(), z.string()).default({});
/** Names of server environment variables handed to the agent when set (model credentials). */
const passEnv = z
  .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name'))
  .optional();

/** The program an agent runs: one path (taken whole, not split at spaces, so a path may hold
 *  them) or an argv list. Either way an argv list after parsing. */
function commandSchema(hint: string) {
  return z.union([
    z
      .string()
      .min(1, hint)
      .transform((program) => [program]),
    z.array(z.string()).min(1, hint),
  ]);
}

/** USD per million tokens, for agents that report tokens rather than dollars. */
const priceSchema = z.strictObject({
  input_per_mtok: z.number().min(0),
  output_per_mtok: z.number().min(0),
  cached_input_per_mtok: z.number().min(0).optional(),
});

const agentSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('command'),
    command: commandSchema('give a program path, or the argv, e.g. ["my-agent", "{prompt_file}"]'),
    env: envMap,
    pass_env: passEnv,
  }),
  z.strictObject({
    kind: z.literal('claude-code'),
    command: commandSchema('give a program path, e.g. /usr/local/bin/claude').default(['claude']),
    model: z.string().optional(),
    env: envMap,
    pass_env: passEnv,
    prices: z.record(z.string(), priceSchema).default({}),
  }),
  z.strictObject({
    kind: z.literal('codex'),
    command: commandSchema('give a program path, e.g. /usr/local/bin/codex').default(['codex']),
    model: z.string().optional(),
    /** A custom model provider (how a proxy or a local test server is used; Codex ignores OPENAI_BASE_URL). */
    provider: z
      .strictObject({
        name: z.string().default('forge'),
        base_url: z.string().url(),
        env_key: z.string().default('OPENAI_API_KEY'),
        wire_api: z.enum(['responses']).default('responses'),
      })
      .optional(),
    env: envMap,
    pass_env: passEnv,
    prices: z.record(z.string(), priceSchema).default({}),
  }),
  z.strictObject({
    kind: z.literal('goose'),
    command: commandSchema('give a program path, e.g. /usr/local/bin/goose').default(['goose']),
    provider: z.string().optional(),
    model: z.string().optional(),
    env: envMap,
    pass_env: passEnv,
  }),
]);

const mcpServerSchema = z.union([
  z.strictObject({
    type: z.literal('stdio').default('stdio'),
    command: z.string().min(1),
    args: z.array(z.string()).default([]),
    env: envMap,
  }),
  z.strictObject({
    type: z.literal('http'),
    url: z.string().url(),
    headers: z.record(z.string(), z.string()).default({}),
  }),
]);

/** A Kubernetes quantity (500m, 2, 4Gi); YAML numbers (cpu: 2) are taken as written. */
const quantity = z
  .union([z.string(), z.number()])
  .transform((value) => String(value))
  .pipe(
    z
      .string()
      .regex(
        /^[+]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|[numkMGTPE]|[KMGTPE]i)?$/,
        'not a Kubernetes quantity; use e.g. 500m, 2, 512Mi, 4Gi',
      ),
  );
/** A DNS-1123 label: a namespace, a Secret or a service account name. */
const dnsLabel = z
  .string()
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'use lower-case letters, digits and "-" (DNS-1123)');
/** A DNS-1123 subdomain: most object names (Secrets, runtime classes). */
const dnsName = z
  .string()
  .max(253)
  .regex(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
    'use lower-case letters, digits, "-" and "." (DNS-1123)',
  );
/** Kubernetes resource requests or limits by resource name (cpu, memory, ephemeral-storage, …). */
const resourceList = z.record(z.string().min(1), quantity);
/** A Kubernetes Toleration, with the API's own field names. */
const tolerationSchema = z.strictObject({
  key: z.string().optional(),
  operator: z.enum(['Exists', 'Equal']).optional(),
  value: z.string().optional(),
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
  tolerationSeconds: z.number().int().optional(),
});
/** Where a profile's attempts run on Kubernetes: each key given replaces the sandbox's own
 *  (resources by resource name). For work that needs more memory, a GPU node or gVisor. */
const podSchema = z.strictObject({
  resources: z
    .strictObject({ requests: resourceList.optional(), limits: resourceList.optional() })
    .optional(),
  node_selector: z.record(z.string().min(1), z.string()).optional(),
  tolerations: z.array(tolerationSchema).optional(),
  runtime_class: dnsName.optional(),
  image_pull_secrets: z.array(dnsName).optional(),
  service_account: dnsName.optional(),
});

const profileSchema = z.strictObject({
  agent: name.optional(),
  max_retries: z.number().int().min(0).max(10).optional(),
  budget_usd: z.number().positive().optional(),
  inactivity_timeout: duration.optional(),
  max_duration: duration.optional(),
  allowed_domains: z.array(z.string()).optional(),
  env: envMap,
  model: z.string().optional(),
  max_turns: z.number().int().min(1).max(10_000).optional(),
  system_prompt: z.string().optional(),
  allowed_tools: z.array(z.string()).default([]),
  disallowed_tools: z.array(z.string()).default([]),
  mcp_servers: z.record(name, mcpServerSchema).default({}),
  /** Goose recipe file. */
  recipe: z.string().optional(),
  /** claude-code: resume the previous attempt's session when it was interrupted (default true). */
  resume_interrupted: z.boolean().default(true),
  /** Open pull requests as drafts. */
  draft: z.boolean().optional(),
  /** A retry starts from the previous attempt's pushed work instead of fresh from the base. */
  continue_previous_work: z.boolean().default(false),
  /** With `sandbox.kind: kubernetes`: the pod's placement and resources for this profile. */
  pod: podSchema.optional(),
});

const forgeSchema = z.strictObject({
  kind: z.enum(['forgejo', 'gitea', 'github']),
  /** Web URL of the forge (GitHub: https://github.com, or an Enterprise host). */
  url: z.string().url(),
  /** API base when it is not derivable (GitHub Enterprise); defaults per kind. */
  api_url: z.string().url().optional(),
  token: z.string().min(1, 'set a token, e.g. token: ${FORGEJO_TOKEN}'),
});

const repoSchema = z.strictObject({
  url: z.string().min(1),
  forge: name.optional(),
  base_branch: z.string().min(1).optional(),
  profile: name.optional(),
  draft: z.boolean().default(false),
  /** Workspaces kept prepared for this repository's jobs (0: none; each job clones afresh). */
  workspace_pool: z.number().int().min(0).max(64).default(0),
});

/** Login names on a forge (compared without regard to case). */
const logins = z.array(z.string().min(1).max(100)).default([]);

/** The labels Forge reads and writes on a queued issue: the visible state of its job. */
const issueLabelsSchema = z
  .strictObject({
    running: z.string().min(1).default('forge:running'),
    done: z.string().min(1).default('forge:done'),
    failed: z.string().min(1).default('forge:failed'),
    cancelled: z.string().min(1).default('forge:cancelled'),
    cancel: z.string().min(1).default('forge:cancel'),
  })
  .prefault({});

const issueIntakeSchema = z.strictObject({
  kind: z.literal('issues'),
  /** Name under `forges:` hosting the issues. */
  forge: name,
  /** owner/name of the repository whose issues are tasks. */
  repo: z.string().regex(/^[^/\s]+\/[^/\s]+$/, 'use owner/name'),
  /** The label that queues an issue. */
  label: z.string().min(1).default('forge:queued'),
  labels: issueLabelsSchema,
  /** Name under `repos:` the jobs work on; without it, the issue's own repository. */
  target_repo: name.optional(),
  /** Profile for the jobs (a `forge:profile` directive may pick another). */
  profile: name.optional(),
  /** How often the issues are listed, the safety net for lost webhooks. */
  poll: duration.default(60_000),
  /** HMAC secret of the webhook pointed at POST /hooks/<source>; without it webhooks are refused. */
  webhook_secret: z.string().min(1).optional(),
  /** Who may queue and command: these logins, and with `allow: write` anyone the forge says may
   *  write to the repository. Bots only when listed here. */
  allowed_users: logins,
  allow: z.enum(['listed', 'write']).default('listed'),
  /** Answer an issue queued by someone not allowed with a one-line refusal (default: silence). */
  refusal_comment: z.boolean().default(false),
  /** Least time between edits of a running job's status comment. */
  comment_interval: duration.default(30_000),
});

const notifyEvents = z
  .array(z.enum(['queued', 'started', 'retrying', 'finished']))
  .min(1)
  .default(['finished']);

const telegramSchema = z.strictObject({
  kind: z.literal('telegram'),
  token: z.string().min(1, 'set the bot token, e.g. token: ${TELEGRAM_BOT_TOKEN}'),
  /** Chats notified, and the only chats served. */
  chats: z.array(z.number().int()).min(1, 'list at least one chat id'),
  /** Users whose messages and button presses are served. */
  users: z.array(z.number().int()).default([]),
  events: notifyEvents,
  /** Messages to the bot file jobs. */
  intake: z.boolean().default(false),
  /** Bot API root (a local Bot API server, or tests). */
  api_root: z.string().url().default('https://api.telegram.org'),
  /** Defaults for jobs filed from chat. */
  repo: name.optional(),
  profile: name.optional(),
});

const webhookNotifierSchema = z.strictObject({
  kind: z.literal('webhook'),
  url: z.string().url(),
  secret: z.string().min(1, 'set a signing secret, e.g. secret: ${FORGE_HOOK_SECRET}'),
  events: notifyEvents,
});

/** Where jobs, the queue, the outbox and logs live: one SQLite file (one server), or NATS
 *  JetStream shared by several replicas. */
const storeSchema = z
  .discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('sqlite') }),
    z.strictObject({
      kind: z.literal('nats'),
      /** nats://host:4222 (several, comma-separated, for a cluster). */
      url: z.string().regex(/^(nats|tls):\/\/\S+$/, 'use nats://host:port'),
      token: z.string().min(1).optional(),
      /** A NATS credentials (.creds) file. */
      creds_file: z.string().min(1).optional(),
      /** Names the buckets and streams, so several Forge installations can share one NATS. */
      prefix: name.default('forge'),
      /** Delete finished jobs (and their logs) this many days after they ended; unset, keep
       *  everything. The buckets have no TTL: this is the only clean-up. */
      retention_days: z.number().int().min(1).max(36_500).optional(),
    }),
  ])
  .default({ kind: 'sqlite' });

/** Environment variables the worker reads from the worker namespace's Secrets (not these names). */
const RESERVED_WORKER_ENV = new Set(['FORGE_WORKER_TOKEN', 'HOME', 'TMPDIR']);
const workerSecrets = z
  .record(
    z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name'),
    z.strictObject({ secret: dnsName, key: z.string().min(1) }),
  )
  .superRefine((secrets, ctx) => {
    for (const name of Object.keys(secrets)) {
      if (RESERVED_WORKER_ENV.has(name))
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message: 'Forge sets this variable in the worker itself; use another name',
        });
    }
  })
  .default({});

/** Where attempts run: local processes, or a batch/v1 Job per attempt running `forge worker`. */
const sandboxSchema = z
  .discriminatedUnion(
    'kind',
    [
      z.strictObject({
        kind: z.literal('local').default('local'),
        isolation: z.enum(['auto', 'srt', 'none']).default('auto'),
        allowed_domains: z.array(z.string()).default([]),
        /** `auto`: agents' processes are created by forge-spawn where `npm ci` built it, else by
         *  Node; `node`: always by Node (slower; output through a socket pair). */
        spawn: z.enum(['auto', 'node']).default('auto'),
      }),
      z.strictObject({
        kind: z.literal('kubernetes'),
        /** The pod is the isolation (with the chart's NetworkPolicy); srt does not run in it. */
        isolation: z
          .literal('none', {
            error:
              'isolation is for the local sandbox; a Kubernetes pod is isolated by the cluster: remove it',
          })
          .default('none'),
        allowed_domains: z.array(z.string()).default([]),
        namespace: dnsLabel.default('forge-workers'),
        image: z.string().min(1).default('ghcr.io/forge-dev/forge-worker:0.1.0'),
        /** How the worker pods reach this Forge replica (the chart passes the pod IP). */
        worker_url: z.url({
          protocol: /^https?$/,
          error: 'give the URL worker pods dial to reach this Forge, e.g. http://10.0.0.5:7700',
        }),
        /** A kubeconfig file; without it, KUBECONFIG, ~/.kube/config, then the in-cluster account. */
        kubeconfig: z.string().min(1).optional(),
        context: z.string().min(1).optional(),
        service_account: dnsName.optional(),
        image_pull_secrets: z.array(dnsName).default([]),
        node_selector: z.record(z.string().min(1), z.string()).default({}),
        tolerations: z.array(tolerationSchema).default([]),
        runtime_class: dnsName.optional(),
        resources: z
          .strictObject({
            requests: resourceList.default({ cpu: '500m', memory: '1Gi' }),
            limits: resourceList.default({ cpu: '2', memory: '4Gi' }),
          })
          .prefault({}),
        /** The emptyDir holding the workspace, the agent's home and its output. */
        workspace_size: quantity.default('10Gi'),
        /** How long a worker may take to call home before the attempt fails (`sandbox`). */
        start_timeout: duration.default(5 * 60_000),
        /** Worker environment variables read from Secrets in the namespace (model credentials). */
        secrets: workerSecrets,
      }),
      z.strictObject({
        kind: z.literal('agent-sandbox'),
        isolation: z
          .literal('none', {
            error:
              'isolation is for the local sandbox; an agent-sandbox pod is isolated by the cluster: remove it',
          })
          .default('none'),
        allowed_domains: z.array(z.string()).default([]),
        namespace: dnsLabel.default('forge-workers'),
        /** The SandboxWarmPool claims draw from; its SandboxTemplate's pods run `forge worker
         *  --warm` (the chart's template does). */
        warm_pool: dnsName.default('forge-workers'),
        /** The SandboxTemplate the pool's pods come from, which `forge doctor` checks exists. */
        template: dnsName.optional(),
        /** How the warm pods reach this Forge replica. */
        worker_url: z.url({
          protocol: /^https?$/,
          error: 'give the URL warm pods dial to reach this Forge, e.g. http://10.0.0.5:7700',
        }),
        kubeconfig: z.string().min(1).optional(),
        context: z.string().min(1).optional(),
        /** How long a claim may take to bind and its pod to call home (`sandbox` failure after). */
        start_timeout: duration.default(2 * 60_000),
        /** The Secret Forge writes the pool token into (key `token`); the template's pods read
         *  it as FORGE_POOL_TOKEN. */
        pool_secret: dnsName.default('forge-warm-pool'),
        /** Worker environment variables the template takes from Secrets (model credentials):
         *  their names, so Forge never sends their values. */
        inherit_env: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/)).default([]),
      }),
    ],
    { error: 'use kind: local, kubernetes or agent-sandbox' },
  )
  .prefault({});

export const configSchema = z.strictObject({
  server: z
    .strictObject({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(7700),
      tokens: z.array(tokenSchema).default([]),
      /** How people reach this server (links in pull requests); default http://host:port. */
      public_url: z.string().url().optional(),
    })
    .prefault({}),
  data_dir: z.string().default('./.forge'),
  store: storeSchema,
  /** Let API callers name local paths and file:// URLs as `repo` (development only: it lets any
   *  caller make the server read this host's repositories). */
  allow_local_repos: z.boolean().default(false),
  limits: z
    .strictObject({
      max_concurrent: z.number().int().min(1).max(1000).default(3),
      max_budget_usd: z.number().positive().default(50),
      max_duration: duration.default(24 * 3_600_000),
      max_retries: z.number().int().min(0).max(10).default(10),
    })
    .prefault({}),
  defaults: z
    .strictObject({
      agent: name.optional(),
      max_retries: z.number().int().min(0).max(10).default(2),
      inactivity_timeout: duration.default(10 * 60_000),
      max_duration: duration.default(2 * 3_600_000),
      budget_usd: z.number().positive().default(5),
    })
    .prefault({}),
  sandbox: sandboxSchema,
  agents: z.record(name, agentSchema).default({}),
  forges: z.record(name, forgeSchema).default({}),
  repos: z.record(name, repoSchema).default({}),
  profiles: z.record(name, profileSchema).default({}),
  /** Sources that turn outside events into jobs (issue queues on a forge). */
  intake: z.record(name, z.discriminatedUnion('kind', [issueIntakeSchema])).default({}),
  /** Where job events are reported besides an issue's own comment: chat and webhooks. */
  notify: z
    .record(name, z.discriminatedUnion('kind', [telegramSchema, webhookNotifierSchema]))
    .default({}),
  /** Long-lived agents: scheduled or woken runs on a repository, with notes and a budget. */
  stewards: stewardsSchema,
  metrics: z
    .strictObject({
      /** Serve GET /metrics without a token (for a scraper on a trusted network). */
      public: z.boolean().default(false),
    })
    .prefault({}),
  /** Delivery of comments, labels and notifications. */
  outbox: z
    .strictObject({
      poll_interval: duration.default(1000),
      /** Attempts before a delivery is given up (shown per job and in /health). */
      max_attempts: z.number().int().min(1).max(1000).default(50),
      max_backoff: duration.default(5 * 60_000),
      /** A delivery taking longer is cut off and retried. */
      delivery_timeout: duration.default(30_000),
    })
    .prefault({}),
  /** Internal timings; exposed for tests and unusual deployments. */
  runner: z
    .strictObject({
      lease: duration.default(15_000),
      poll_interval: duration.default(1000),
      retry_backoff: duration.default(1000),
      shutdown_grace: duration.default(10_000),
    })
    .prefault({}),
});

export type ForgeConfig = z.output<typeof configSchema>;
export type AgentConfig = ForgeConfig['agents'][string];
export type ProfileConfig = ForgeConfig['profiles'][string];
export type ForgeHostConfig = ForgeConfig['forges'][string];
export type RepoConfig = ForgeConfig['repos'][string];
export type McpServerConfig = ProfileConfig['mcp_servers'][string];
export type { StewardConfig } from './config-stewards.ts';
export type IssueIntakeConfig = Extract<ForgeConfig['intake'][string], { kind: 'issues' }>;
export type TelegramConfig = Extract<ForgeConfig['notify'][string], { kind: 'telegram' }>;
export type WebhookNotifierConfig = Extract<ForgeConfig['notify'][string], { kind: 'webhook' }>;
export type KubernetesSandboxConfig = Extract<ForgeConfig['sandbox'], { kind: 'kubernetes' }>;

/** Replaces `${NAME}` with the environment's value; a missing variable is a problem to report. */
function substitute(
  value: unknown,
  env: Record<string, string | undefined>,
  problems: string[],
  path: string,
): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, key: string) => {
      const found = env[key];
      if (found === undefined) {
        problems.push(`${path}: environment variable ${key} is not set (referenced as \${${key}})`);
        return '';
      }
      return found;
    });
  }
  if (Array.isArray(value))
    return value.map((v, i) => substitute(v, env, problems, `${path}[${i}]`));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        substitute(v, env, problems, path ? `${path}.${k}` : k),
      ]),
    );
  }
  return value;
}

function setPath(target: Record<string, unknown>, keys: string[], value: unknown): void {
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const child = node[key];
    if (!child || typeof child !== 'object') node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]!] = value;
}

/** Environment overrides, applied after the file. */
function applyEnvOverrides(
  raw: Record<string, unknown>,
  env: Record<string, string | undefined>,
  problems: string[],
): void {
  const numeric = (key: string, keys: string[]): void => {
    const value = env[key];
    if (value === undefined || value === '') return;
    const n = Number(value);
    if (!Number.isFinite(n)) problems.push(`${key}: "${value}" is not a number`);
    else setPath(raw, keys, n);
  };
  const text = (key: string, keys: string[]): void => {
    const value = env[key];
    if (value !== undefined && value !== '') setPath(raw, keys, value);
  };
  text('FORGE_HOST', ['server', 'host']);
  numeric('FORGE_PORT', ['server', 'port']);
  text('FORGE_DATA_DIR', ['data_dir']);
  numeric('FORGE_MAX_CONCURRENT', ['limits', 'max_concurrent']);
  text('FORGE_ISOLATION', ['sandbox', 'isolation']);
}

/** Parses and validates the configuration. Throws one ForgeError('config') listing every problem. */
export function loadConfig(
  env: Record<string, string | undefined>,
  fileText: string | null,
  fileName = 'forge.yaml',
): ForgeConfig {
  const problems: string[] = [];
  let raw: unknown = {};
  if (fileText !== null && fileText.trim() !== '') {
    try {
      raw = parseYaml(fileText) ?? {};
    } catch (err) {
      throw new ForgeError('config', `${fileName} is not valid YAML: ${(err as Error).message}`);
    }
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ForgeError(
      'config',
      `${fileName} must be a mapping of keys (server, limits, agents, …)`,
    );
  }
  const substituted = substitute(raw, env, problems, '') as Record<string, unknown>;
  applyEnvOverrides(substituted, env, problems);
  const result = configSchema.safeParse(substituted);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const where = issue.path.length ? issue.path.join('.') : '(top level)';
      problems.push(`${where}: ${issue.message}`);
    }
  }
  if (result.success) {
    addBuiltInAgents(result.data);
    problems.push(...crossCheck(result.data));
  }
  if (problems.length > 0 || !result.success) {
    throw new ForgeError(
      'config',
      `invalid configuration in ${fileName}:\n  - ${problems.join('\n  - ')}`,
    );
  }
  return result.data;
}

/** With no agents configured, Forge offers the real agents it knows, so `forge submit` works with
 *  nothing but credentials: `claude` (Claude Code, the default) and `codex`. */
function addBuiltInAgents(config: ForgeConfig): void {
  if (Object.keys(config.agents).length > 0) return;
  config.agents = {
    claude: { kind: 'claude-code', command: ['claude'], env: {}, prices: {} },
    codex: { kind: 'codex', command: ['codex'], env: {}, prices: {} },
  };
  config.defaults.agent ??= 'claude';
}

/** Rules that span keys: references must resolve, defaults must respect limits. */
function crossCheck(config: ForgeConfig): string[] {
  const problems: string[] = [];
  const agents = Object.keys(config.agents);
  if (config.defaults.agent && !config.agents[config.defaults.agent]) {
    problems.push(
      `defaults.agent: no agent named "${config.defaults.agent}" under agents (have: ${agents.join(', ') || 'none'})`,
    );
  }
  for (const [profileName, profile] of Object.entries(config.profiles)) {
    if (profile.agent && !config.agents[profile.agent]) {
      problems.push(
        `profiles.${profileName}.agent: no agent named "${profile.agent}" under agents`,
      );
    }
    if (profile.max_duration !== undefined && profile.max_duration > config.limits.max_duration) {
      problems.push(`profiles.${profileName}.max_duration: above limits.max_duration`);
    }
    if (profile.budget_usd !== undefined && profile.budget_usd > config.limits.max_budget_usd) {
      problems.push(`profiles.${profileName}.budget_usd: above limits.max_budget_usd`);
    }
  }
  const domainLists: Array<[string, string[]]> = [
    ['sandbox.allowed_domains', config.sandbox.allowed_domains],
    ...Object.entries(config.profiles).map(([n, p]): [string, string[]] => [
      `profiles.${n}.allowed_domains`,
      p.allowed_domains ?? [],
    ]),
  ];
  for (const [where, domains] of domainLists) {
    // sandbox-runtime resolves these on the host: they would open this machine's own services,
    // Forge's API among them, to the agent.
    const loopback = domains.filter((d) => isLoopback(d.replace(/^\*\./, '')) || d === '0.0.0.0');
    if (loopback.length)
      problems.push(
        `${where}: ${loopback.join(', ')} would let agents reach this host's own services (Forge's API too); remove it`,
      );
  }
  for (const [repoName, repo] of Object.entries(config.repos)) {
    if (repo.forge && !config.forges[repo.forge])
      problems.push(`repos.${repoName}.forge: no forge named "${repo.forge}" under forges`);
    if (repo.profile && !config.profiles[repo.profile])
      problems.push(`repos.${repoName}.profile: no profile named "${repo.profile}" under profiles`);
    if (/\/\/[^/]*@/.test(repo.url))
      problems.push(
        `repos.${repoName}.url: put credentials in forges.<name>.token, not in the URL`,
      );
  }
  problems.push(...intakeProblems(config));
  problems.push(...stewardProblems(config));
  if (config.defaults.max_duration > config.limits.max_duration) {
    problems.push('defaults.max_duration: above limits.max_duration');
  }
  if (config.defaults.budget_usd > config.limits.max_budget_usd) {
    problems.push('defaults.budget_usd: above limits.max_budget_usd');
  }
  // Secrets are redacted from everything agents print; a short one cannot be.
  problems.push(...tooShort(configSecrets(config)));
  if (!isLoopback(config.server.host) && config.server.tokens.length === 0) {
    problems.push(
      `server.host: ${config.server.host} is not a loopback address and no server.tokens are configured; add a token (role admin) or bind 127.0.0.1`,
    );
  }
  return problems;
}

/** Intake sources and notifiers must name what exists. */
function intakeProblems(config: ForgeConfig): string[] {
  const problems: string[] = [];
  for (const [sourceName, source] of Object.entries(config.intake)) {
    const where = `intake.${sourceName}`;
    if (!config.forges[source.forge])
      problems.push(`${where}.forge: no forge named "${source.forge}" under forges`);
    if (source.target_repo && !config.repos[source.target_repo])
      problems.push(
        `${where}.target_repo: no repository named "${source.target_repo}" under repos`,
      );
    if (source.profile && !config.profiles[source.profile])
      problems.push(`${where}.profile: no profile named "${source.profile}" under profiles`);
    if (source.allow === 'listed' && source.allowed_users.length === 0)
      problems.push(
        `${where}.allowed_users: nobody may queue issues; list logins, or set allow: write to let anyone with write access`,
      );
  }
  for (const [notifierName, notifier] of Object.entries(config.notify)) {
    if (notifier.kind !== 'telegram') continue;
    const where = `notify.${notifierName}`;
    if (notifier.intake && notifier.users.length === 0)
      problems.push(
        `${where}.users: intake is on but no user ids are listed; list who may file jobs`,
      );
    if (notifier.repo && !config.repos[notifier.repo])
      problems.push(`${where}.repo: no repository named "${notifier.repo}" under repos`);
    if (notifier.profile && !config.profiles[notifier.profile])
      problems.push(`${where}.profile: no profile named "${notifier.profile}" under profiles`);
  }
  return problems;
}

/** Stewards must name what exists. */
function stewardProblems(config: ForgeConfig): string[] {
  const problems: string[] = [];
  for (const [stewardName, steward] of Object.entries(config.stewards)) {
    const where = `stewards.${stewardName}`;
    if (!config.repos[steward.repo])
      problems.push(`${where}.repo: no repository named "${steward.repo}" under repos`);
    if (steward.profile && !config.profiles[steward.profile])
      problems.push(`${where}.profile: no profile named "${steward.profile}" under profiles`);
    if (steward.agent && !config.agents[steward.agent])
      problems.push(`${where}.agent: no agent named "${steward.agent}" under agents`);
  }
  return problems;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
