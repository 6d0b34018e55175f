/**
 * A steward's times: when its schedule is due, and its budget's day and month, all in its own
 * time zone (croner does the calendar arithmetic, daylight saving included).
 */
import { Cron } from 'croner';

/** The latest scheduled time in (after, now], or null when none has come. */
export function dueTick(schedule: string, timezone: string, after: Date, now: Date): Date | null {
  const cron = new Cron(schedule, { paused: true, timezone });
  const [latest] = cron.previousRuns(1, new Date(now.getTime() + 1));
  return latest && latest.getTime() > after.getTime() ? latest : null;
}

/** The next scheduled time after `now`, or null (a schedule that never comes again). */
export function nextTick(schedule: string, timezone: string, now: Date): Date | null {
  return new Cron(schedule, { paused: true, timezone }).nextRun(now);
}

/** `YYYY-MM-DD` and `YYYY-MM` of an instant in a time zone: the budget's day and month. */
export function periodOf(at: Date, timezone: string): { day: string; month: string } {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone: timezone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).formatToParts(at);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '00';
  const month = `${get('year')}-${get('month')}`;
  return { day: `${month}-${get('day')}`, month };
}

/** When the budget's day and month next begin, in the time zone. */
export function periodResets(timezone: string, now: Date): { day: Date; month: Date } {
  return {
    day: new Cron('0 0 0 * * *', { paused: true, timezone }).nextRun(now)!,
    month: new Cron('0 0 0 1 * *', { paused: true, timezone }).nextRun(now)!,
  };
}
