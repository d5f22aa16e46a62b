import { CronExpressionParser } from 'cron-parser';

// What Temporal's Schedules accept, checked when a workflow is saved: a schedule Temporal refuses would
// otherwise be saved with 201 and then fail every activation.

/** One cron field: numbers, `*`, three-letter names, with ranges, steps and lists (no L, W, #, ?, H). */
const CRON_FIELD = /^(?:\*|\d+|[A-Za-z]{3})(?:[-/,](?:\*|\d+|[A-Za-z]{3}))*$/;

/** Why a five-field cron expression is not valid, or undefined when it is. */
export function cronProblem(expression: string): string | undefined {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5)
    return 'a cron expression has five fields: minute hour day-of-month month day-of-week';
  const bad = fields.find((field) => !CRON_FIELD.test(field));
  if (bad !== undefined) return `"${bad}" is not a cron field (numbers, *, names, ranges, steps and lists)`;
  try {
    CronExpressionParser.parse(fields.join(' '), { strict: false });
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : 'not a valid cron expression';
  }
}

/** IANA zones as Temporal (Go's time package) loads them: exact spelling, no legacy aliases. */
const EXTRA_ZONES = new Set(['UTC', 'Etc/UTC', 'GMT', 'Etc/GMT']);
let knownZones: Set<string> | undefined;

export function isTimeZone(name: string): boolean {
  knownZones ??= new Set(Intl.supportedValuesOf('timeZone'));
  if (!knownZones.has(name) && !EXTRA_ZONES.has(name)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** A fixed interval such as "30s", "5m", "2h" or "1d". */
export const INTERVAL_PATTERN = /^(\d+)(s|m|h|d)$/;

const SECONDS_PER_UNIT = { s: 1, m: 60, h: 3_600, d: 86_400 } as const;

/** From one second to one year: Temporal refuses a zero interval, and a larger one is a mistake. */
export const MIN_INTERVAL_SECONDS = 1;
export const MAX_INTERVAL_SECONDS = 366 * 86_400;

/** The interval in seconds, or undefined when it is not an interval within the bounds. */
export function intervalSeconds(every: string): number | undefined {
  const match = INTERVAL_PATTERN.exec(every);
  const unit = match?.[2];
  if (!match?.[1] || (unit !== 's' && unit !== 'm' && unit !== 'h' && unit !== 'd')) return undefined;
  const seconds = Number(match[1]) * SECONDS_PER_UNIT[unit];
  return seconds >= MIN_INTERVAL_SECONDS && seconds <= MAX_INTERVAL_SECONDS ? seconds : undefined;
}
