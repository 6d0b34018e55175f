import { existsSync, readFileSync } from 'node:fs';
import { loadConfig, type ForgeConfig } from '../config.ts';

/** Finds and loads the configuration: --config, then FORGE_CONFIG, then ./forge.yaml if present. */
export function readConfig(
  explicit: string | undefined,
  env: NodeJS.ProcessEnv,
): { config: ForgeConfig; path: string | undefined } {
  const path =
    explicit ?? env.FORGE_CONFIG ?? (existsSync('forge.yaml') ? 'forge.yaml' : undefined);
  let text: string | null = null;
  if (path !== undefined) {
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new Error(
        `cannot read config file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; check --config / FORGE_CONFIG`,
      );
    }
  }
  return { config: loadConfig(env, text, path ?? 'forge.yaml'), path };
}

export async function serveCommand(opts: { config?: string }): Promise<void> {
  const { createForge } = await import('../main.ts');
  const { config, path } = readConfig(opts.config, process.env);
  const forge = createForge(config, { env: process.env, ...(path ? { configPath: path } : {}) });
  const url = await forge.start();
  forge.logger.info(
    { url, dataDir: forge.dataDir, isolation: config.sandbox.isolation },
    'forge serving',
  );
  process.stderr.write(`Forge listening on ${url} (data in ${forge.dataDir})\n`);
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) {
      process.stderr.write(
        `${signal} again: exiting now; running jobs will be recovered on the next start\n`,
      );
      process.exit(130);
    }
    stopping = true;
    process.stderr.write(
      `${signal}: finishing running attempts (up to ${config.runner.shutdown_grace} ms), then stopping\n`,
    );
    forge.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`shutdown failed: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}
