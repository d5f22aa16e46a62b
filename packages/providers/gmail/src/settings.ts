import { z } from 'zod';
import { GOOGLE_JWKS_URL } from './push.js';

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
  /** The `aud` Gmail's Pub/Sub push subscription puts in its OIDC tokens (usually the push endpoint URL). Gmail push is refused (401) while unset. */
  PUBSUB_PUSH_AUDIENCE: z.string().min(1).optional(),
  /** The service account the push subscription signs its tokens as; only its tokens are accepted. */
  PUBSUB_PUSH_SERVICE_ACCOUNT: z.string().min(3).optional(),
  /** JWK Set of the token signer; Google's by default (tests point it at a local key). */
  PUBSUB_PUSH_JWKS_URL: z.url().default(GOOGLE_JWKS_URL),
});

export type GmailSettings = z.output<typeof gmailSettings>;
