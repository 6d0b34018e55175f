import { describe, expect, it } from 'vitest';
import { cgroup2Mounts, isInsideCgroup2, ownCgroupDir } from './cgroup-location.ts';

const V1_CPU = '32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu';
const HYBRID = [
  '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
  V1_CPU,
  '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
].join('\n');
const PURE_V2 =
  '35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate';

describe('ownCgroupDir', () => {
  it('finds the unified hierarchy of a hybrid v1/v2 host', () => {
    expect(ownCgroupDir(HYBRID, '4:memory:/x\n0::/\n')).toBe('/sys/fs/cgroup/unified');
  });

  it("finds a systemd service's cgroup on a pure v2 host", () => {
    expect(ownCgroupDir(PURE_V2, '0::/system.slice/forge.service\n')).toBe(
      '/sys/fs/cgroup/system.slice/forge.service',
    );
  });

  it('maps a cgroup through a mount of a subtree (a container that sees only its own)', () => {
    const mounted = '50 40 0:30 /docker/abc /sys/fs/cgroup ro,relatime - cgroup2 cgroup2 rw';
    expect(ownCgroupDir(mounted, '0::/docker/abc/worker\n')).toBe('/sys/fs/cgroup/worker');
    expect(ownCgroupDir(mounted, '0::/docker/other\n')).toBeNull();
  });

  it('finds nothing on a v1-only host or for a cgroup outside our namespace', () => {
    expect(ownCgroupDir(V1_CPU, '1:cpu:/\n0::/\n')).toBeNull();
    expect(ownCgroupDir(PURE_V2, '0::/../../system.slice\n')).toBeNull();
    expect(ownCgroupDir(PURE_V2, '1:cpu:/\n')).toBeNull();
  });

  it('reads mount points that mountinfo escapes', () => {
    const spaced = '41 31 0:38 / /mnt/my\\040cgroups rw - cgroup2 cgroup2 rw';
    expect(cgroup2Mounts(spaced)).toEqual([{ root: '/', mountPoint: '/mnt/my cgroups' }]);
  });
});

describe('isInsideCgroup2', () => {
  it('accepts only normalised paths strictly inside a cgroup2 mount', () => {
    expect(isInsideCgroup2('/sys/fs/cgroup/unified/forge-J-1', HYBRID)).toBe(true);
    expect(isInsideCgroup2('/sys/fs/cgroup/unified', HYBRID)).toBe(false);
    expect(isInsideCgroup2('/sys/fs/cgroup/cpu/forge-J-1', HYBRID)).toBe(false);
    expect(isInsideCgroup2('/sys/fs/cgroup/unified/../cpu/forge-J-1', HYBRID)).toBe(false);
    expect(isInsideCgroup2('/tmp/forge-J-1', HYBRID)).toBe(false);
  });
});
