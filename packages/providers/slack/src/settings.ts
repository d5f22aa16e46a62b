import { z } from 'zod';

/** What the Slack provider reads from the deployment's environment. */
export const slackSettings = z.object({
  /** Slack's Web API root; a local fake in tests. */
  SLACK_API_URL: z.url().default('https://slack.com/api/'),
});
