import { defineTrigger } from '@autoflow/provider-registry';
import { z } from 'zod';

/** A fixed interval such as "30s", "5m", "2h" or "1d". */
export const INTERVAL_PATTERN = /^(\d+)(s|m|h|d)$/;

const config = z.union([
  z
    .object({
      /** A five-field cron expression, e.g. "0 9 * * 1-5". */
      cron: z.string().min(9).max(100),
      /** An IANA time zone; UTC when absent. */
      timezone: z.string().max(64).optional(),
    })
    .strict(),
  z.object({ every: z.string().regex(INTERVAL_PATTERN, 'an interval such as "30s", "5m" or "1h"') }).strict(),
]);

export type ScheduleTriggerConfig = z.output<typeof config>;

export const cronTrigger = defineTrigger({
  id: 'cron',
  name: 'On a schedule',
  description: 'Runs on a cron expression (with a time zone) or at a fixed interval.',
  kind: 'schedule',
  config,
  output: z.object({ scheduledTime: z.string() }),
  sampleOutput: { scheduledTime: '2026-01-01T09:00:00.000Z' },
});
