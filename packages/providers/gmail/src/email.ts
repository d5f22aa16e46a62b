import { jsonTextBytes, jsonTextPrefix, listTemplateReferences } from '@autoflow/provider-registry';
import { type JsonValue, MAX_SAVED_CONFIG_BYTES, MAX_TRIGGER_DATA_BYTES } from '@autoflow/workflow-contracts';
import type { gmail_v1 } from '@googleapis/gmail';
import addressparser from 'nodemailer/lib/addressparser';
import { z } from 'zod';

/** One mail as triggers and read-email output it. Bodies are present only when they were fetched. */
export const emailSchema = z.object({
  id: z.string().describe('Gmail message id'),
  threadId: z.string(),
  /** The RFC 822 Message-ID header, for replying in thread. */
  messageIdHeader: z.string(),
  from: z.string(),
  to: z.string(),
  cc: z.string(),
  subject: z.string(),
  snippet: z.string(),
  date: z.string().describe('ISO 8601: when Gmail received it'),
  labels: z.array(z.string()),
  textBody: z.string().optional(),
  htmlBody: z.string().optional(),
  attachments: z
    .array(
      z.object({ filename: z.string(), mimeType: z.string(), size: z.number(), attachmentId: z.string() }),
    )
    .optional(),
  truncated: z
    .boolean()
    .optional()
    .describe(
      'true when the bodies (or, for an extreme mail, long headers and the attachment list) were cut from ' +
        'their end to keep the mail within what one run may carry (MAX_TRIGGER_DATA_BYTES)',
    ),
});

export type Email = z.infer<typeof emailSchema>;

export const sampleEmail: Email = {
  id: '18c2f5a1b2c3d4e5',
  threadId: '18c2f5a1b2c3d4e5',
  messageIdHeader: '<CAF1234@mail.gmail.com>',
  from: 'Boss <boss@company.com>',
  to: 'me@gmail.com',
  cc: '',
  subject: 'Quarterly numbers',
  snippet: 'Please have a look before Monday',
  date: '2026-11-29T09:30:00.000Z',
  labels: ['INBOX', 'UNREAD'],
  textBody: 'Please have a look before Monday.',
  htmlBody: '<p>Please have a look before Monday.</p>',
  attachments: [],
  truncated: false,
};

/**
 * The most one mail may weigh as trigger data (JSON bytes). Below MAX_TRIGGER_DATA_BYTES by a saved
 * config's worth, so that an action that quotes the body once still renders within
 * MAX_RENDERED_CONFIG_BYTES.
 */
export const MAX_EMAIL_BYTES = MAX_TRIGGER_DATA_BYTES - MAX_SAVED_CONFIG_BYTES;
/** For a mail whose headers alone are huge (any sender can write them): each header field is cut to this. */
const MAX_HEADER_FIELD_BYTES = 16 * 1024;
const MAX_LISTED_ATTACHMENTS = 100;
const MAX_LISTED_LABELS = 100;

const jsonBytes = (value: Email) => Buffer.byteLength(JSON.stringify(value));

function cutHeaders(email: Email): Email {
  const cut = (text: string) => jsonTextPrefix(text, MAX_HEADER_FIELD_BYTES);
  return {
    ...email,
    messageIdHeader: cut(email.messageIdHeader),
    from: cut(email.from),
    to: cut(email.to),
    cc: cut(email.cc),
    subject: cut(email.subject),
    snippet: cut(email.snippet),
    labels: email.labels.slice(0, MAX_LISTED_LABELS).map((label) => jsonTextPrefix(label, 256)),
    ...(email.attachments === undefined
      ? {}
      : {
          attachments: email.attachments.slice(0, MAX_LISTED_ATTACHMENTS).map((attachment) => ({
            ...attachment,
            filename: jsonTextPrefix(attachment.filename, 1024),
            mimeType: jsonTextPrefix(attachment.mimeType, 256),
            attachmentId: jsonTextPrefix(attachment.attachmentId, 1024),
          })),
        }),
  };
}

/** Room for two bodies: the smaller keeps what it has up to half, the other takes the rest. */
function splitRoom(room: number, text: number, html: number): [text: number, html: number] {
  if (text + html <= room) return [text, html];
  const half = Math.floor(room / 2);
  if (text <= half) return [text, room - text];
  if (html <= half) return [room - html, html];
  return [half, room - half];
}

/**
 * A mail within `maxBytes` of JSON, flagged `truncated` when anything was cut. Bodies are cut first
 * (from their end); headers and the attachment list only when they alone would take half the room.
 */
export function boundEmail(email: Email, maxBytes = MAX_EMAIL_BYTES): Email {
  let bounded: Email = { ...email, truncated: false };
  if (jsonBytes(bounded) <= maxBytes) return bounded;
  bounded.truncated = true;
  const withoutBodies = (value: Email): Email => ({
    ...value,
    ...(value.textBody === undefined ? {} : { textBody: '' }),
    ...(value.htmlBody === undefined ? {} : { htmlBody: '' }),
  });
  if (jsonBytes(withoutBodies(bounded)) > maxBytes / 2) bounded = cutHeaders(bounded);
  const room = Math.max(0, maxBytes - jsonBytes(withoutBodies(bounded)));
  const [textRoom, htmlRoom] = splitRoom(
    room,
    bounded.textBody === undefined ? 0 : jsonTextBytes(bounded.textBody),
    bounded.htmlBody === undefined ? 0 : jsonTextBytes(bounded.htmlBody),
  );
  if (bounded.textBody !== undefined) bounded.textBody = jsonTextPrefix(bounded.textBody, textRoom);
  if (bounded.htmlBody !== undefined) bounded.htmlBody = jsonTextPrefix(bounded.htmlBody, htmlRoom);
  return bounded;
}

/** The headers a trigger or read-email needs; format=metadata asks for exactly these. */
export const METADATA_HEADERS = ['From', 'To', 'Cc', 'Subject', 'Date', 'Message-ID'];

/** Output fields that exist only in format=full; a workflow whose templates read none needs metadata only. */
const BODY_FIELDS = new Set(['textBody', 'htmlBody', 'attachments']);

/** Whether an action's templates read a mail's body (or the whole trigger output). */
export function templatesReadBody(actionConfig: JsonValue): boolean {
  return listTemplateReferences(actionConfig).some(
    (reference) => !reference.path?.[0] || BODY_FIELDS.has(reference.path[0]),
  );
}

function header(message: gmail_v1.Schema$Message, name: string): string {
  const wanted = name.toLowerCase();
  return message.payload?.headers?.find((item) => item.name?.toLowerCase() === wanted)?.value ?? '';
}

function decodeBody(data: string | null | undefined): string {
  return data ? Buffer.from(data, 'base64url').toString('utf8') : '';
}

interface Bodies {
  textBody: string | undefined;
  htmlBody: string | undefined;
  attachments: NonNullable<Email['attachments']>;
}

/** Walks a full payload: the first inline text/plain and text/html parts, and every attachment. */
function collectBodies(part: gmail_v1.Schema$MessagePart, into: Bodies): void {
  if (part.filename) {
    into.attachments.push({
      filename: part.filename,
      mimeType: part.mimeType ?? 'application/octet-stream',
      size: part.body?.size ?? 0,
      attachmentId: part.body?.attachmentId ?? '',
    });
  } else if (part.mimeType === 'text/plain' && into.textBody === undefined && part.body?.data) {
    into.textBody = decodeBody(part.body.data);
  } else if (part.mimeType === 'text/html' && into.htmlBody === undefined && part.body?.data) {
    into.htmlBody = decodeBody(part.body.data);
  }
  for (const child of part.parts ?? []) collectBodies(child, into);
}

/**
 * A Gmail message resource as the trigger's output. `format` is what was asked of Gmail: only `full`
 * has bodies and attachments, even when they are empty. Bounded to `maxBytes` of JSON (see boundEmail).
 */
export function toEmail(
  message: gmail_v1.Schema$Message,
  format: 'full' | 'metadata',
  maxBytes = MAX_EMAIL_BYTES,
): Email {
  const email: Email = {
    id: message.id ?? '',
    threadId: message.threadId ?? '',
    messageIdHeader: header(message, 'Message-ID'),
    from: header(message, 'From'),
    to: header(message, 'To'),
    cc: header(message, 'Cc'),
    subject: header(message, 'Subject'),
    snippet: message.snippet ?? '',
    date: new Date(Number(message.internalDate ?? 0)).toISOString(),
    labels: message.labelIds ?? [],
  };
  if (format === 'full' && message.payload) {
    const bodies: Bodies = { textBody: undefined, htmlBody: undefined, attachments: [] };
    collectBodies(message.payload, bodies);
    if (bodies.textBody !== undefined) email.textBody = bodies.textBody;
    if (bodies.htmlBody !== undefined) email.htmlBody = bodies.htmlBody;
    email.attachments = bodies.attachments;
  }
  return boundEmail(email, maxBytes);
}

/** The addresses of a header such as `Boss <boss@company.com>, b@x.org`, lower-cased. */
export function addressesOf(headerValue: string): string[] {
  return addressparser(headerValue, { flatten: true }).map((entry) => entry.address.toLowerCase());
}

/** An address filter matches an exact address, or any part of the header when it is not an address. */
function addressMatches(filter: string, headerValue: string): boolean {
  const wanted = filter.trim().toLowerCase();
  if (wanted.includes('@')) return addressesOf(headerValue).includes(wanted);
  return headerValue.toLowerCase().includes(wanted);
}

export interface EmailFilter {
  from?: string | undefined;
  to?: string | undefined;
  subjectContains?: string | undefined;
  label?: string | undefined;
}

/** Every filter that is set must match. `label` matches a label id or a label's name (resolved ids). */
export function matchesFilter(
  filter: EmailFilter,
  email: Email,
  labelIdsByName: ReadonlyMap<string, string>,
): boolean {
  if (filter.from && !addressMatches(filter.from, email.from)) return false;
  if (filter.to && !addressMatches(filter.to, `${email.to}, ${email.cc}`)) return false;
  if (filter.subjectContains && !email.subject.toLowerCase().includes(filter.subjectContains.toLowerCase()))
    return false;
  if (filter.label) {
    const wanted = filter.label.trim();
    const id = labelIdsByName.get(wanted.toLowerCase()) ?? wanted;
    if (!email.labels.some((label) => label.toLowerCase() === id.toLowerCase())) return false;
  }
  return true;
}
