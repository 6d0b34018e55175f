import { describe, expect, it } from 'vitest';
import { dueTick, nextTick, periodOf, periodResets } from './steward-clock.ts';

const at = (iso: string) => new Date(iso);

describe("a steward's clock", () => {
  it('finds the latest scheduled time since the last one, and none before it comes', () => {
    const after = at('2026-03-01T10:00:00Z');
    expect(dueTick('*/30 * * * *', 'UTC', after, at('2026-03-01T10:29:59Z'))).toBeNull();
    expect(dueTick('*/30 * * * *', 'UTC', after, at('2026-03-01T10:30:00Z'))).toEqual(
      at('2026-03-01T10:30:00Z'),
    );
    // Several missed: only the latest, so they coalesce into one run.
    expect(dueTick('*/30 * * * *', 'UTC', after, at('2026-03-01T13:10:00Z'))).toEqual(
      at('2026-03-01T13:00:00Z'),
    );
    // The time already used is not due again.
    expect(
      dueTick('*/30 * * * *', 'UTC', at('2026-03-01T13:00:00Z'), at('2026-03-01T13:10:00Z')),
    ).toBeNull();
  });

  it('takes six fields with seconds first', () => {
    const after = at('2026-03-01T10:00:00.000Z');
    expect(dueTick('* * * * * *', 'UTC', after, at('2026-03-01T10:00:02.500Z'))).toEqual(
      at('2026-03-01T10:00:02Z'),
    );
    expect(nextTick('* * * * * *', 'UTC', at('2026-03-01T10:00:02.500Z'))).toEqual(
      at('2026-03-01T10:00:03Z'),
    );
  });

  it('reads the schedule in its time zone', () => {
    // 09:00 in Berlin is 08:00 UTC in winter and 07:00 UTC in summer.
    expect(nextTick('0 9 * * *', 'Europe/Berlin', at('2026-01-10T00:00:00Z'))).toEqual(
      at('2026-01-10T08:00:00Z'),
    );
    expect(nextTick('0 9 * * *', 'Europe/Berlin', at('2026-07-10T00:00:00Z'))).toEqual(
      at('2026-07-10T07:00:00Z'),
    );
  });

  it("counts the budget's day and month in the time zone", () => {
    // 23:30 UTC on 31 March is already 1 April in Berlin.
    expect(periodOf(at('2026-03-31T23:30:00Z'), 'UTC')).toEqual({
      day: '2026-03-31',
      month: '2026-03',
    });
    expect(periodOf(at('2026-03-31T23:30:00Z'), 'Europe/Berlin')).toEqual({
      day: '2026-04-01',
      month: '2026-04',
    });
    expect(periodResets('UTC', at('2026-03-31T23:30:00Z'))).toEqual({
      day: at('2026-04-01T00:00:00Z'),
      month: at('2026-04-01T00:00:00Z'),
    });
    expect(periodResets('Europe/Berlin', at('2026-03-15T12:00:00Z'))).toEqual({
      day: at('2026-03-15T23:00:00Z'),
      month: at('2026-03-31T22:00:00Z'),
    });
  });
});
