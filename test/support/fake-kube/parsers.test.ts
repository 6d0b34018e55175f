import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rewritePaths } from './container-config.ts';
import { mergePatch } from './patch.ts';
import type { KubeObject } from './resources.ts';
import { parseQuantity } from './scheduler.ts';
import { fieldMatcher, labelMatcher } from './selectors.ts';

const obj = (labels: Record<string, string>, name = 'x'): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels },
  status: { phase: 'Running' },
});
const word = fc.stringMatching(/^[a-z][a-z0-9]{0,5}$/);
const labels = fc.dictionary(fc.constantFrom('app', 'tier', 'forge.dev/job'), word, { maxKeys: 3 });

describe('label and field selectors', () => {
  it('matches equality, inequality, existence and set requirements as the apiserver does', () => {
    fc.assert(
      fc.property(
        labels,
        fc.constantFrom('app', 'tier', 'forge.dev/job'),
        word,
        word,
        (l, key, a, b) => {
          const o = obj(l);
          expect(labelMatcher(`${key}=${a}`)(o)).toBe(l[key] === a);
          expect(labelMatcher(`${key}==${a}`)(o)).toBe(l[key] === a);
          expect(labelMatcher(`${key}!=${a}`)(o)).toBe(l[key] !== a);
          expect(labelMatcher(key)(o)).toBe(key in l);
          expect(labelMatcher(`!${key}`)(o)).toBe(!(key in l));
          expect(labelMatcher(`${key} in (${a}, ${b})`)(o)).toBe(l[key] === a || l[key] === b);
          expect(labelMatcher(`${key} notin (${a},${b})`)(o)).toBe(l[key] !== a && l[key] !== b);
          expect(labelMatcher(`${key}=${a},${key}!=${a}`)(o)).toBe(false);
        },
      ),
    );
    expect(labelMatcher('')(obj({}))).toBe(true);
  });

  it('refuses a selector it cannot parse with 400', () => {
    expect(() => labelMatcher('a=b=c')).toThrow(/unable to parse requirement/);
    expect(() => fieldMatcher('metadata.name')).toThrow(/invalid field selector/);
  });

  it('matches fields by dotted path', () => {
    expect(fieldMatcher('metadata.name=x,status.phase=Running')(obj({}))).toBe(true);
    expect(fieldMatcher('metadata.name!=x')(obj({}))).toBe(false);
    expect(fieldMatcher('spec.nodeName=')(obj({}))).toBe(true);
  });
});

describe('quantities', () => {
  it('reads every suffix in base units', () => {
    fc.assert(
      fc.property(fc.nat(100_000), (n) => {
        expect(parseQuantity(`${n}Mi`)).toBe(n * 2 ** 20);
        expect(parseQuantity(`${n}G`)).toBe(n * 1e9);
        expect(parseQuantity(`${n}m`)).toBeCloseTo(n / 1000);
        expect(parseQuantity(`${n}e3`)).toBe(n * 1000);
        expect(parseQuantity(n)).toBe(n);
      }),
    );
    expect(() => parseQuantity('2 GB')).toThrow(/not a Kubernetes quantity/);
  });
});

describe('merge patch (RFC 7386)', () => {
  const json = fc.jsonValue({ maxDepth: 3 });
  it('is idempotent and deletes keys set to null', () => {
    fc.assert(
      fc.property(json, json, (target, patch) => {
        const once = mergePatch(target, patch);
        expect(mergePatch(once, patch)).toEqual(once);
      }),
    );
    expect(mergePatch({ a: 1, b: { c: 2, d: 3 } }, { a: null, b: { c: null, e: [1] } })).toEqual({
      b: { d: 3, e: [1] },
    });
  });
});

describe('mount path rewriting', () => {
  const mounts: Array<[string, string]> = [
    ['/workspace/cache', '/tmp/v/cache'],
    ['/workspace', '/tmp/v/ws'],
  ];
  it('rewrites a mount path only where it is a whole path prefix', () => {
    expect(rewritePaths('/workspace', mounts)).toBe('/tmp/v/ws');
    expect(rewritePaths('--dir=/workspace/repo', mounts)).toBe('--dir=/tmp/v/ws/repo');
    expect(rewritePaths('/workspace/cache/x', mounts)).toBe('/tmp/v/cache/x');
    expect(rewritePaths('PATH=/bin:/workspace/bin', mounts)).toBe('PATH=/bin:/tmp/v/ws/bin');
    expect(rewritePaths('/workspaces /other/workspace', mounts)).toBe(
      '/workspaces /other/workspace',
    );
    expect(rewritePaths('cd /workspace && ls /workspace/', mounts)).toBe(
      'cd /tmp/v/ws && ls /tmp/v/ws/',
    );
  });
});
