import { defineAction, PermanentActionError } from '@autoflow/provider-registry';
import type { gmail_v1 } from '@googleapis/gmail';
import MailComposer from 'nodemailer/lib/mail-composer';
import { z } from 'zod';
import { gmailClient, toActionError } from '../api.js';
import { addressesOf } from '../email.js';
import { GMAIL_QUEUE } from '../queue.js';
import { gmailSettings } from '../settings.js';

/**
 * Comma-separated addresses, each with an @. A templated value (`{{trigger.from}}`) is saved as it is
 * and checked once rendered, when the run parses its config again.
 */
const addressList = z
  .string()
  .trim()
  .min(3)
  .max(4_000)
  .refine((value) => {
    if (value.includes('{{')) return true;
    const addresses = addressesOf(value);
    return addresses.length > 0 && addresses.every((address) => /^[^@\s]+@[^@\s]+$/.test(address));
  }, 'must be one or more email addresses, separated by commas');

/**
 * The Message-ID of a run's mail, derived from the run and the action (its idempotency key): every
 * attempt sends the same id, which is how a retry finds out that an earlier attempt was delivered.
 */
export function runMessageId(idempotencyKey: string): string {
  return `<${idempotencyKey}@autoflow.run>`;
}

const sendEmailConfig = z.object({
  to: addressList,
  cc: addressList.optional(),
  bcc: addressList.optional(),
  subject: z.string().max(998),
  /** Plain-text body. */
  body: z.string().max(1_000_000),
  /** Optional HTML alternative of the body. */
  htmlBody: z.string().max(2_000_000).optional(),
  /** Reply in this Gmail thread, e.g. `{{trigger.threadId}}`. */
  threadId: z.string().max(64).optional(),
  /** The Message-ID header being answered, e.g. `{{trigger.messageIdHeader}}`. */
  inReplyTo: z.string().max(998).optional(),
});
type SendEmailConfig = z.infer<typeof sendEmailConfig>;

const sendEmailOutput = z.object({
  id: z.string(),
  threadId: z.string(),
  messageIdHeader: z.string(),
  /** True when an earlier attempt had already sent it. */
  alreadySent: z.boolean(),
});
type SendEmailOutput = z.infer<typeof sendEmailOutput>;

export const sendEmailAction = defineAction({
  id: 'send-email',
  name: 'Send an email',
  description:
    'Sends a mail from the connected Gmail account; a retry never sends it twice (it looks for the run’s Message-ID in Sent first).',
  config: sendEmailConfig,
  output: sendEmailOutput,
  execution: { mode: 'queued', taskQueue: GMAIL_QUEUE },
  settings: gmailSettings,
  sampleConfig: () => ({ to: 'someone@example.com', subject: 'Hello', body: 'Hi there' }),
  async run({ config, credential, settings, idempotencyKey, attempt, signal, usage }) {
    if (!credential) throw new PermanentActionError('send-email needs a Gmail credential');
    const rootUrl = settings.GMAIL_API_ROOT_URL;
    return credential.withAccessTokenFor(rootUrl, (accessToken) =>
      send(gmailClient(accessToken, rootUrl, usage), config, { idempotencyKey, attempt, signal }),
    );
  },
});

/** Sends the run's mail, unless an earlier attempt already did (a Gmail 401 sends nothing). */
async function send(
  gmail: gmail_v1.Gmail,
  config: SendEmailConfig,
  { idempotencyKey, attempt, signal }: { idempotencyKey: string; attempt: number; signal: AbortSignal },
): Promise<SendEmailOutput> {
  const messageIdHeader = runMessageId(idempotencyKey);

  if (attempt > 1) {
    // An earlier attempt may have been accepted by Gmail before its worker died: look before resending.
    const earlier = await gmail.users.messages
      .list(
        { userId: 'me', q: `rfc822msgid:${messageIdHeader.slice(1, -1)} in:sent`, maxResults: 1 },
        { signal },
      )
      .catch((error: unknown) => {
        throw toActionError(error, 'looking for an earlier send');
      });
    const found = earlier.data.messages?.[0];
    if (found?.id) {
      return { id: found.id, threadId: found.threadId ?? '', messageIdHeader, alreadySent: true };
    }
  }

  const mime = new MailComposer({
    to: config.to,
    ...(config.cc ? { cc: config.cc } : {}),
    ...(config.bcc ? { bcc: config.bcc } : {}),
    subject: config.subject,
    text: config.body,
    ...(config.htmlBody ? { html: config.htmlBody } : {}),
    messageId: messageIdHeader,
    ...(config.inReplyTo ? { inReplyTo: config.inReplyTo, references: config.inReplyTo } : {}),
  }).compile();
  // Gmail reads Bcc from the raw message and strips it before delivery.
  mime.keepBcc = true;
  const raw = (await mime.build()).toString('base64url');
  try {
    const sent = await gmail.users.messages.send(
      { userId: 'me', requestBody: { raw, ...(config.threadId ? { threadId: config.threadId } : {}) } },
      { signal },
    );
    return {
      id: sent.data.id ?? '',
      threadId: sent.data.threadId ?? '',
      messageIdHeader,
      alreadySent: false,
    };
  } catch (error) {
    throw toActionError(error, 'sending the mail');
  }
}
