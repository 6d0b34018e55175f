// How much of git's output Forge holds: a repository whose commands print megabytes must not
// cost megabytes of memory per command.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ForgeError } from '../../domain/errors.ts';
import { createGitCli, MAX_STDOUT_BYTES, type Git } from './git-cli.ts';

let tmp: string;
let repo: string;
let git: Git;
/** 3 MiB of numbered lines, committed as big.txt. */
const BIG_LINES = 3 * 1024 * 128;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'forge-git-cli-'));
  repo = join(tmp, 'repo');
  const env = { PATH: process.env.PATH ?? '', HOME: tmp, GIT_CONFIG_NOSYSTEM: '1' };
  const sh = (...args: string[]) => execFileSync('git', args, { cwd: repo, env });
  execFileSync('git', ['init', '--quiet', repo], { env });
  const lines = Array.from({ length: BIG_LINES }, (_, i) => `line ${String(i).padStart(2, '0')}`);
  await writeFile(join(repo, 'big.txt'), `${lines.join('\n')}\n`);
  sh('add', 'big.txt');
  sh('-c', 'user.name=T', '-c', 'user.email=t@example.com', 'commit', '--quiet', '-m', 'big');
  git = createGitCli({ homeDir: join(tmp, 'home'), pathEnv: process.env.PATH ?? '' });
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('git output', () => {
  it('keeps only the first bytes of a long output, cut at a whole line, when the caller asks for a prefix', async () => {
    const keep = 64 * 1024;
    const r = await git(['cat-file', 'blob', 'HEAD:big.txt'], { cwd: repo, keepStdout: keep });
    expect(r.code).toBe(0);
    expect(r.truncated).toBe(true);
    expect(r.stdout.length).toBeLessThanOrEqual(keep);
    expect(r.stdout.length).toBeGreaterThan(keep - 100);
    expect(r.stdout.startsWith('line 00\nline 01\n')).toBe(true);
    expect(r.stdout.endsWith('\n')).toBe(true);
    expect(
      r.stdout
        .trimEnd()
        .split('\n')
        .every((l) => /^line \d+$/.test(l)),
    ).toBe(true);
  });

  it('says nothing was cut when the output fits', async () => {
    const r = await git(['rev-parse', 'HEAD'], { cwd: repo, keepStdout: 1024 });
    expect(r.truncated).toBe(false);
    expect(r.stdout.trim()).toMatch(/^[0-9a-f]{40}$/);
  });

  it('fails with the limit named when a command that needs all its output prints too much', async () => {
    expect(3 * 1024 * 1024).toBeGreaterThan(MAX_STDOUT_BYTES);
    const err: unknown = await git(['cat-file', 'blob', 'HEAD:big.txt'], { cwd: repo }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ForgeError);
    expect((err as ForgeError).message).toContain('git cat-file printed more than');
    expect((err as ForgeError).message).toContain(`${MAX_STDOUT_BYTES / 1024 / 1024} MiB`);
  });

  it('keeps the end of a long stderr, where git says why it failed', async () => {
    // 600 KiB of warnings, then the verdict.
    const script = join(tmp, 'noisy.sh');
    await writeFile(
      script,
      "i=0; while [ $i -lt 6000 ]; do echo 'warning: line ending conversion in some-file-with-a-long-name-to-fill-the-line.txt' >&2; i=$((i+1)); done; echo 'fatal: the real reason' >&2; exit 1\n",
    );
    const err: unknown = await git(['-c', `alias.noisy=!sh ${script}`, 'noisy'], {
      cwd: repo,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ForgeError);
    expect((err as ForgeError).message).toContain('fatal: the real reason');
    expect((err as ForgeError).message).toContain('warning: line ending');
  });
});
