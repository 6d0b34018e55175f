import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatOptions, parseCommand, parseTask, type JobOptions } from './telegram-commands.ts';

const word = fc.stringMatching(/^[A-Za-z0-9._/-]{1,20}$/);
const options: fc.Arbitrary<JobOptions> = fc.record(
  {
    repo: word,
    profile: word,
    agent: word,
    model: word,
    budget_usd: fc.double({ min: 0.001, max: 1e6, noNaN: true }),
    max_turns: fc.integer({ min: 1, max: 10_000 }),
    max_duration: fc.constantFrom('30s', '10m', '2h', '1.5h', '500ms'),
    base_branch: word,
  },
  { requiredKeys: [] },
);
/** A task whose first word is not an option. */
const task = fc
  .tuple(fc.stringMatching(/^[^\s=]{1,10}$/), fc.string())
  .map(([first, rest]) => `${first} ${rest}`.trim());

describe('telegram commands', () => {
  it('reads leading key=value words as options and the rest as the task', () => {
    expect(parseTask('repo=web budget=2.5 max_turns=30 fix the login a=b')).toEqual({
      ok: true,
      task: 'fix the login a=b',
      options: { repo: 'web', budget_usd: 2.5, max_turns: 30 },
    });
    expect(parseTask('print hi')).toEqual({ ok: true, task: 'print hi', options: {} });
  });

  it('refuses unknown keys and bad values, saying what is allowed', () => {
    const unknown = parseTask('colour=red paint it');
    expect(unknown).toMatchObject({ ok: false });
    expect(!unknown.ok && unknown.error).toMatch(/unknown option "colour".*budget=/);
    expect(parseTask('budget=lots fix it')).toMatchObject({ ok: false });
    expect(parseTask('budget=-1 fix it')).toMatchObject({ ok: false });
    expect(parseTask('max_turns=2.5 fix it')).toMatchObject({ ok: false });
    expect(parseTask('max_duration=soon fix it')).toMatchObject({ ok: false });
    expect(parseTask('repo= fix it')).toMatchObject({ ok: false });
    expect(parseTask('repo=web')).toMatchObject({ ok: false });
    expect(parseTask('   ')).toMatchObject({ ok: false });
  });

  it('splits commands, with or without the bot name', () => {
    expect(parseCommand('/run print hi')).toEqual({ name: 'run', args: 'print hi' });
    expect(parseCommand('/Status@forge_bot  01ABC ')).toEqual({ name: 'status', args: '01ABC' });
    expect(parseCommand('/list')).toEqual({ name: 'list', args: '' });
    expect(parseCommand('fix /run')).toBeNull();
  });

  it('never throws, whatever the text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (text) => {
        parseTask(text);
        parseCommand(text);
      }),
    );
    fc.assert(
      fc.property(fc.string(), fc.string(), (key, value) => {
        parseTask(`${key}=${value} do it`);
      }),
    );
  });

  it('reads back the options it wrote', () => {
    fc.assert(
      fc.property(options, task, (opts, t) => {
        const text = `${formatOptions(opts)} ${t}`;
        expect(parseTask(text)).toEqual({ ok: true, task: t, options: opts });
      }),
    );
  });
});
