import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mapCommand, mapEnv, mapPath } from './path-map.ts';

const ROOT = '/var/forge/jobs/01JOB/attempt-1';

describe('path mapping', () => {
  it("maps the attempt directory in arguments and environment values to the worker's", () => {
    expect(
      mapCommand(['claude', `--mcp-config=${ROOT}/private/mcp.json`, ROOT], ROOT, '/forge'),
    ).toEqual(['claude', '--mcp-config=/forge/private/mcp.json', '/forge']);
    expect(
      mapEnv(
        { HOME: `${ROOT}/private/home`, PATH: `${ROOT}/bin:/usr/bin`, N: '1' },
        ROOT,
        '/forge',
      ),
    ).toEqual({ HOME: '/forge/private/home', PATH: '/forge/bin:/usr/bin', N: '1' });
  });

  it('leaves a longer name or a longer path alone', () => {
    expect(mapPath(`${ROOT}0/x`, ROOT, '/forge')).toBe(`${ROOT}0/x`);
    expect(mapPath(`/mnt${ROOT}/x`, ROOT, '/forge')).toBe(`/mnt${ROOT}/x`);
    expect(mapPath(`${ROOT}.bak`, ROOT, '/forge')).toBe(`${ROOT}.bak`);
  });

  it('mapping there and back gives the text back, whatever surrounds the directory', () => {
    const piece = fc.oneof(fc.constant(ROOT), fc.constant('/'), fc.constant(':'), fc.string());
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (parts) => {
        const text = parts.join('');
        fc.pre(!text.includes('/w0rker'));
        expect(mapPath(mapPath(text, ROOT, '/w0rker'), '/w0rker', ROOT)).toBe(text);
      }),
    );
  });
});
