import { describe, expect, it } from 'vitest';
import { cronTrigger } from '../src/index.js';
import { cronProblem, intervalSeconds, isTimeZone } from '../src/triggers/schedule-spec.js';

function messages(config: unknown): string[] {
  const result = cronTrigger.config.safeParse(config);
  return result.success ? [] : result.error.issues.map((issue) => issue.message);
}

describe('schedule trigger config', () => {
  it('accepts five-field crons with names, ranges, steps and lists, and IANA zones', () => {
    for (const cron of [
      '0 9 * * 1-5',
      '*/5 * * * *',
      '0 0 1 JAN *',
      '0 0 * * MON-FRI',
      '15,45 8-18/2 * * *',
    ]) {
      expect(cronProblem(cron), cron).toBeUndefined();
    }
    expect(messages({ cron: '0 9 * * 1-5', timezone: 'Europe/Paris' })).toEqual([]);
    expect(messages({ cron: '0 9 * * 1-5', timezone: 'UTC' })).toEqual([]);
    expect(messages({ every: '30s' })).toEqual([]);
  });

  it('refuses what Temporal would refuse at activation, with the failing part in the message', () => {
    expect(messages({ cron: 'not a cron at all' })[0]).toMatch(/is not a cron field/);
    for (const cron of [
      '61 * * * *',
      '* * * * * *',
      '0 0 L * *',
      '0 0 ? * *',
      'H * * * *',
      '0 0 30 2 *',
      '@midnight',
    ]) {
      expect(cronProblem(cron), cron).toEqual(expect.any(String));
    }
    expect(messages({ cron: '0 9 * * 1-5', timezone: 'Nope/Zone' })[0]).toMatch(/IANA time zone/);
    expect(isTimeZone('europe/paris')).toBe(false);
    expect(isTimeZone('Europe/Paris')).toBe(true);
    expect(messages({ every: '0s' })[0]).toMatch(/from 1s to 366d/);
  });

  it('bounds intervals to 1s … 366d', () => {
    expect(intervalSeconds('1s')).toBe(1);
    expect(intervalSeconds('366d')).toBe(366 * 86_400);
    for (const every of ['0s', '0m', '367d', '99999999999999d', '1w', '']) {
      expect(intervalSeconds(every), every).toBeUndefined();
    }
  });
});
