// Where this process sits in the cgroup v2 hierarchy. Pure functions of the text of
// /proc/self/mountinfo and /proc/self/cgroup, so that every layout (hybrid v1/v2, pure v2 under
// systemd, a container that sees only its own subtree) can be tested without being on it.
import { isAbsolute, join, normalize } from 'node:path';

export interface Cgroup2Mount {
  /** Where the filesystem is mounted. */
  mountPoint: string;
  /** Which cgroup of the hierarchy appears at `mountPoint` (`/` unless a subtree is mounted). */
  root: string;
}

/** mountinfo escapes space, tab, newline and backslash as octal (`\040`). */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) =>
    String.fromCharCode(parseInt(octal, 8)),
  );
}

/** Every cgroup2 filesystem mounted in this mount namespace, in mount order. */
export function cgroup2Mounts(mountinfo: string): Cgroup2Mount[] {
  const mounts: Cgroup2Mount[] = [];
  for (const line of mountinfo.split('\n')) {
    // id parent major:minor root mount-point options [optional fields…] - fstype source options
    const [before, after] = line.split(' - ');
    if (after?.split(' ')[0] !== 'cgroup2' || before === undefined) continue;
    const fields = before.split(' ');
    if (fields[3] && fields[4])
      mounts.push({ root: unescape(fields[3]), mountPoint: unescape(fields[4]) });
  }
  return mounts;
}

/** The directory of this process's own cgroup v2 group (`0::<path>` in /proc/self/cgroup), or
 *  null when no cgroup2 mount shows it (v1 only; or a cgroup outside what is mounted here). */
export function ownCgroupDir(mountinfo: string, procSelfCgroup: string): string | null {
  const line = procSelfCgroup.split('\n').find((entry) => entry.startsWith('0::'));
  const path = line?.slice(3).trim();
  // A path outside our cgroup namespace shows as `/../…`: nothing we could reach.
  if (!path || !isAbsolute(path) || path.split('/').includes('..')) return null;
  for (const { root, mountPoint } of cgroup2Mounts(mountinfo)) {
    if (root === '/') return below(mountPoint, path);
    if (path === root || path.startsWith(`${root}/`))
      return below(mountPoint, path.slice(root.length));
  }
  return null;
}

function below(mountPoint: string, path: string): string {
  return normalize(join(mountPoint, path)).replace(/(.)\/$/, '$1');
}

/** Whether `dir` lies strictly inside a cgroup2 mount. */
export function isInsideCgroup2(dir: string, mountinfo: string): boolean {
  if (!isAbsolute(dir) || normalize(dir) !== dir) return false;
  return cgroup2Mounts(mountinfo).some(({ mountPoint }) => dir.startsWith(`${mountPoint}/`));
}
