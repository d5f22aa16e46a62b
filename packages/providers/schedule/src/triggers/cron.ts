import { defineTrigger } from '@autoflow/provider-registry';
import { z } from 'zod';
import { cronProblem, INTERVAL_PATTERN, intervalSeconds, isTimeZone } from './schedule-spec.js';

export { INTERVAL_PATTERN } from './schedule-spec.js';

const cronConfig = z
  .object({
    /** A five-field cron expression, e.g. "0 9 * * 1-5". */
    cron: z
      .string()
      .min(9)
      .max(100)
      .superRefine((cron, context) => {
        const problem = cronProblem(cron);
        if (problem) context.addIssue({ code: 'custom', message: problem });
      }),
    /** An IANA time zone such as "Europe/Paris"; UTC when absent. */
    timezone: z
      .string()
      .max(64)
      .refine(isTimeZone, 'an IANA time zone such as "Europe/Paris" (exact spelling)')
      .optional(),
  })
  .strict();

const everyConfig = z
  .object({
    every: z
      .string()
      .regex(INTERVAL_PATTERN, 'an interval such as "30s", "5m" or "1h"')
      .refine((every) => intervalSeconds(every) !== undefined, 'an interval from 1s to 366d'),
  })
  .strict();

/** The union's message is the failing option's own (which one: the key the config has). */
function unionMessage(issue: z.core.$ZodRawIssue): string {
  const option = typeof issue.input === 'object' && issue.input !== null && 'every' in issue.input ? 1 : 0;
  const nested = issue.code === 'invalid_union' ? issue.errors[option]?.[0] : undefined;
  return nested?.message ?? 'either {cron, timezone?} or {every}';
}

const config = z.union([cronConfig, everyConfig], { error: unionMessage });

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
