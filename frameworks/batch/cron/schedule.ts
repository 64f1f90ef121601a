/**
 * Cron expressions and time zones, read by croner (a well-kept parser: standard 5-field cron, an
 * optional leading seconds field, `@daily` and friends, `L`, `W`, `#`). Galaxy only asks it one
 * question: the first run time after an instant. Across daylight saving changes croner keeps
 * wall-clock semantics: a fixed time that does not exist (02:30 on a spring-forward night) runs
 * once at the first valid time after the gap, one that happens twice runs once (the first time);
 * an interval (`*\/30 * * * *`) keeps counting real time.
 */
import { Cron } from 'croner';

/** A parsed schedule: when it runs next. */
export interface CronTimes {
  /** The first run strictly after `after` (ms since the epoch), or undefined when it never runs again. */
  next(after: number): number | undefined;
  /** The last run at or before `atOrBefore` (ms), or undefined when there was none. */
  latest(atOrBefore: number): number | undefined;
}

/** True when `zone` is an IANA time zone this Node.js knows. */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/**
 * Parses `expression` (5 fields, or 6 with seconds first) in `timeZone` (IANA; UTC when empty).
 * Throws croner's message for a bad expression.
 */
export function cronTimes(expression: string, timeZone = 'UTC'): CronTimes {
  const cron = new Cron(expression, { paused: true, mode: '5-or-6-parts', timezone: timeZone || 'UTC' });
  return {
    next: (after) => cron.nextRun(new Date(after))?.getTime() ?? undefined,
    // croner looks strictly before a whole second; run times are whole seconds.
    latest: (atOrBefore) => cron.previousRuns(1, new Date(Math.floor(atOrBefore / 1000) * 1000 + 1000))[0]?.getTime(),
  };
}

/** Why `expression` in `timeZone` cannot be a schedule, or undefined when it can. */
export function cronProblem(expression: string, timeZone = 'UTC'): string | undefined {
  if (expression.length > 200) return 'is longer than 200 characters';
  let times: CronTimes;
  try {
    times = cronTimes(expression, timeZone);
  } catch (error) {
    return (error instanceof Error ? error.message : String(error)).replace(/^CronPattern: /, '');
  }
  // An expression such as "0 0 30 2 *" (February 30th) parses but never runs.
  if (times.next(Date.now()) === undefined) return 'never runs';
  return undefined;
}
