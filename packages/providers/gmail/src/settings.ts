import { z } from 'zod';

const DAY_MS = 24 * 60 * 60 * 1000;

/** What the Gmail provider reads from the deployment's environment, with its defaults. */
export const gmailSettings = z.object({
  /** Gmail API base URL; Google's by default (tests point it at a fake). */
  GMAIL_API_ROOT_URL: z.url().default('https://gmail.googleapis.com/'),
  /** The Pub/Sub topic Gmail's users.watch publishes to: projects/{project}/topics/{topic}. Required for Gmail triggers. */
  GMAIL_PUBSUB_TOPIC: z
    .string()
    .regex(/^projects\/[^/]+\/topics\/[^/]+$/, 'must look like projects/{project}/topics/{topic}')
    .optional(),
  /** How often a mailbox's watch is renewed: daily (Google asks for daily; a watch lasts 7 days). */
  GMAIL_WATCH_RENEWAL_INTERVAL_MS: z.coerce.number().int().positive().default(DAY_MS),
  /** Upper bound of mails read when an expired history cursor forces a resync by date. */
  GMAIL_RESYNC_MAX_MESSAGES: z.coerce.number().int().positive().default(500),
});

export type GmailSettings = z.output<typeof gmailSettings>;
