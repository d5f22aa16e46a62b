import { defineAction, PermanentActionError } from '@autoflow/provider-registry';
import type { gmail_v1 } from '@googleapis/gmail';
import { z } from 'zod';
import { gmailClient, toActionError } from '../api.js';
import { type Email, emailSchema, MAX_EMAIL_BYTES, METADATA_HEADERS, toEmail } from '../email.js';
import { GMAIL_QUEUE } from '../queue.js';
import { gmailSettings } from '../settings.js';

export const readEmailConfig = z
  .object({
    /** One mail by its Gmail id, e.g. `{{trigger.id}}`. */
    messageId: z.string().trim().min(1).max(64).optional(),
    /** Or a Gmail search, e.g. `from:boss@company.com newer_than:1d`. */
    query: z.string().trim().min(1).max(1_000).optional(),
    /** With `query`: how many of the newest matches to read. */
    maxResults: z.number().int().min(1).max(50).default(10),
    /** Bodies and attachment metadata cost nothing more in quota, but are bigger; off for headers only. */
    includeBody: z.boolean().default(true),
  })
  .refine((config) => (config.messageId === undefined) !== (config.query === undefined), {
    message: 'give either messageId or query',
  });

export const readEmailAction = defineAction({
  id: 'read-email',
  name: 'Read email',
  description:
    'Reads one mail by id, or the newest mails matching a Gmail search, from the connected account.',
  config: readEmailConfig,
  output: z.object({ emails: z.array(emailSchema) }),
  execution: { mode: 'queued', taskQueue: GMAIL_QUEUE },
  settings: gmailSettings,
  sampleConfig: () => ({ query: 'in:inbox', maxResults: 1 }),
  async run({ config, credential, settings, signal, usage }) {
    if (!credential) throw new PermanentActionError('read-email needs a Gmail credential');
    const rootUrl = settings.GMAIL_API_ROOT_URL;
    return credential.withAccessTokenFor(rootUrl, (accessToken) =>
      read(gmailClient(accessToken, rootUrl, usage), config, signal),
    );
  },
});

async function read(
  gmail: gmail_v1.Gmail,
  config: z.infer<typeof readEmailConfig>,
  signal: AbortSignal,
): Promise<{ emails: Email[] }> {
  try {
    const ids = config.messageId
      ? [config.messageId]
      : (
          (
            await gmail.users.messages.list(
              { userId: 'me', q: config.query ?? '', maxResults: config.maxResults },
              { signal },
            )
          ).data.messages ?? []
        ).flatMap((message) => (message.id ? [message.id] : []));
    const emails = [];
    for (const id of ids) {
      const message = await gmail.users.messages.get(
        {
          userId: 'me',
          id,
          format: config.includeBody ? 'full' : 'metadata',
          ...(config.includeBody ? {} : { metadataHeaders: METADATA_HEADERS }),
        },
        { signal },
      );
      // All of them together stay within what one mail may weigh: the result travels through Temporal.
      const share = Math.floor(MAX_EMAIL_BYTES / ids.length);
      emails.push(toEmail(message.data, config.includeBody ? 'full' : 'metadata', share));
    }
    return { emails };
  } catch (error) {
    throw toActionError(error, 'reading mail');
  }
}
