import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRunRequest } from './telegram-options.ts';

describe('/run options', () => {
  it('reads leading key=value words and leaves the task', () => {
    expect(
      parseRunRequest('repo=app profile=code-fix budget=2.5 max_turns=12 fix the flaky test'),
    ).toEqual({
      ok: true,
      task: 'fix the flaky test',
      options: { repo: 'app', profile: 'code-fix', budget_usd: 2.5, max_turns: 12 },
    });
    expect(parseRunRequest('  plain words, a=b later  ')).toEqual({
      ok: true,
      task: 'plain words, a=b later',
      options: {},
    });
  });

  it('refuses an unknown key or a bad value, saying what is allowed', () => {
    expect(parseRunRequest('yolo=1 do it')).toMatchObject({
      ok: false,
      problem: expect.stringContaining('allowed: repo') as unknown,
    });
    expect(parseRunRequest('budget=lots do it')).toMatchObject({
      ok: false,
      problem: expect.stringContaining('USD') as unknown,
    });
    expect(parseRunRequest('repo=app')).toMatchObject({ ok: false });
  });

  it('never throws, and what it reads back is what was written', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), (text) => {
        const r = parseRunRequest(text);
        if (r.ok) expect(r.task.length).toBeGreaterThan(0);
      }),
    );
    const word = fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/);
    fc.assert(
      fc.property(
        fc.record({ repo: word, profile: word }, { requiredKeys: [] }),
        fc.integer({ min: 1, max: 500 }),
        fc.stringMatching(/^[^=\s][^\n]{0,80}$/).filter((t) => !/^\S+=/.test(t) && t.trim() !== ''),
        (options, turns, task) => {
          const words = [
            ...Object.entries(options).map(([k, v]) => `${k}=${v}`),
            `max_turns=${turns}`,
          ];
          const r = parseRunRequest(`${words.join(' ')} ${task}`);
          expect(r).toEqual({
            ok: true,
            task: task.trim(),
            options: { ...options, max_turns: turns },
          });
        },
      ),
    );
  });
});
