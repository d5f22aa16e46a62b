import { z } from 'zod';

/** What the Slack provider reads from the deployment's environment. */
export const slackSettings = z.object({
  /** Slack's Web API root; a local fake in tests. */
  SLACK_API_URL: z.url().default('https://slack.com/api/'),
  /** The Slack app's signing secret: Events API requests (POST /push/slack) are verified with it; refused (401) while unset. */
  SLACK_SIGNING_SECRET: z.string().min(1).optional(),
});

export type SlackSettings = z.output<typeof slackSettings>;
