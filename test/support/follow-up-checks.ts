/** What every follow-up test checks: the second job continued the first's branch and pull
 *  request, its commit on top of the first's. */
import { expect } from 'vitest';
import type { JobJson } from './forge-server.ts';
import type { GitServer } from './git-http-server.ts';

interface Result {
  branch: string;
  pr_number: number;
  commit: string;
}

/** Checks that `second` follows `first` up on the same branch and pull request of `repo`;
 *  returns the second's result. */
export async function expectFollowedUp(
  git: GitServer,
  forge: { pulls(repo: string): { head: string }[] },
  repo: string,
  first: JobJson,
  second: JobJson,
): Promise<Result> {
  expect(second).toMatchObject({ status: 'SUCCEEDED', parent_id: first.id });
  const [a, b] = [first.result, second.result] as Result[];
  expect(b!.branch).toBe(a!.branch);
  expect(b!.pr_number).toBe(a!.pr_number);
  expect(await git.git(repo, ['rev-parse', `${b!.commit}~1`])).toBe(a!.commit);
  expect(forge.pulls(repo).filter((p) => p.head === a!.branch)).toHaveLength(1);
  return b!;
}
