import { MAX_TRIGGER_DATA_BYTES } from '@autoflow/workflow-contracts';
import type { gmail_v1 } from '@googleapis/gmail';
import { describe, expect, it } from 'vitest';
import {
  boundEmail,
  type Email,
  emailSchema,
  MAX_EMAIL_BYTES,
  matchesFilter,
  sampleEmail,
  templatesReadBody,
  toEmail,
} from '../src/email.js';

const base64url = (text: string): string => Buffer.from(text, 'utf8').toString('base64url');

// 2025-11-29T09:30:00.000Z, as Gmail's internalDate: epoch milliseconds in a string.
const INTERNAL_DATE = '1764408600000';

/** The message headers, spelled the way Gmail returns them (Message-Id, not Message-ID). */
const headers: gmail_v1.Schema$MessagePartHeader[] = [
  { name: 'Delivered-To', value: 'me@gmail.com' },
  { name: 'From', value: 'Boss <boss@company.com>' },
  { name: 'To', value: 'Me <me@gmail.com>, team@company.com' },
  { name: 'Cc', value: 'Auditor <audit@company.com>' },
  { name: 'Subject', value: 'Quarterly numbers – draft' },
  { name: 'Date', value: 'Sat, 29 Nov 2025 10:30:00 +0100' },
  { name: 'Message-Id', value: '<CAF1234@mail.gmail.com>' },
];

const resourceBase = {
  id: '19ab5f2c3d4e5f60',
  threadId: '19ab5f2c3d4e5f00',
  labelIds: ['UNREAD', 'IMPORTANT', 'CATEGORY_PERSONAL', 'INBOX'],
  snippet: 'Please have a look before Monday',
  historyId: '4816352',
  internalDate: INTERNAL_DATE,
  sizeEstimate: 48213,
};

/** format=metadata: the headers asked for, no parts and no body. */
const metadataMessage: gmail_v1.Schema$Message = {
  ...resourceBase,
  payload: { mimeType: 'multipart/mixed', headers },
};

const TEXT = 'Please have a look before Monday.\r\nThanks — B.';
const HTML = '<div dir="ltr">Please have a look before <b>Monday</b>.<br>Thanks — B.</div>';

/** format=full: multipart/mixed around multipart/alternative (text, html), plus a PDF attachment. */
const fullMessage: gmail_v1.Schema$Message = {
  ...resourceBase,
  payload: {
    partId: '',
    mimeType: 'multipart/mixed',
    filename: '',
    headers: [...headers, { name: 'Content-Type', value: 'multipart/mixed; boundary="000000000000a1"' }],
    body: { size: 0 },
    parts: [
      {
        partId: '0',
        mimeType: 'multipart/alternative',
        filename: '',
        headers: [{ name: 'Content-Type', value: 'multipart/alternative; boundary="000000000000a2"' }],
        body: { size: 0 },
        parts: [
          {
            partId: '0.0',
            mimeType: 'text/plain',
            filename: '',
            headers: [{ name: 'Content-Type', value: 'text/plain; charset="UTF-8"' }],
            body: { size: Buffer.byteLength(TEXT), data: base64url(TEXT) },
          },
          {
            partId: '0.1',
            mimeType: 'text/html',
            filename: '',
            headers: [{ name: 'Content-Type', value: 'text/html; charset="UTF-8"' }],
            body: { size: Buffer.byteLength(HTML), data: base64url(HTML) },
          },
        ],
      },
      {
        partId: '1',
        mimeType: 'application/pdf',
        filename: 'Q3 report.pdf',
        headers: [
          { name: 'Content-Type', value: 'application/pdf; name="Q3 report.pdf"' },
          { name: 'Content-Disposition', value: 'attachment; filename="Q3 report.pdf"' },
        ],
        body: { attachmentId: 'ANGjdJ8wXyZ-attachment-1', size: 182734 },
      },
    ],
  },
};

describe('toEmail', () => {
  it('reads the headers of a format=metadata message, case-insensitively, and leaves bodies out', () => {
    const email = toEmail(metadataMessage, 'metadata');

    expect(email).toEqual({
      id: '19ab5f2c3d4e5f60',
      threadId: '19ab5f2c3d4e5f00',
      messageIdHeader: '<CAF1234@mail.gmail.com>',
      from: 'Boss <boss@company.com>',
      to: 'Me <me@gmail.com>, team@company.com',
      cc: 'Auditor <audit@company.com>',
      subject: 'Quarterly numbers – draft',
      snippet: 'Please have a look before Monday',
      date: '2025-11-29T09:30:00.000Z',
      labels: ['UNREAD', 'IMPORTANT', 'CATEGORY_PERSONAL', 'INBOX'],
      truncated: false,
    });
    // Absent, not empty: the run's trigger data must not pretend the mail had no body.
    expect(email).not.toHaveProperty('textBody');
    expect(email).not.toHaveProperty('htmlBody');
    expect(email).not.toHaveProperty('attachments');
    expect(emailSchema.safeParse(email).success).toBe(true);
  });

  it('decodes the text and html alternatives of a format=full message and lists its attachment', () => {
    const email = toEmail(fullMessage, 'full');

    expect(email.textBody).toBe(TEXT);
    expect(email.htmlBody).toBe(HTML);
    expect(email.attachments).toEqual([
      {
        filename: 'Q3 report.pdf',
        mimeType: 'application/pdf',
        size: 182734,
        attachmentId: 'ANGjdJ8wXyZ-attachment-1',
      },
    ]);
    expect(email.subject).toBe('Quarterly numbers – draft');
    expect(email.messageIdHeader).toBe('<CAF1234@mail.gmail.com>');
    expect(emailSchema.safeParse(email).success).toBe(true);
  });

  it('takes the body of a single-part text/plain message from the payload itself', () => {
    const text = 'Short note: ünïcödé survives base64url (and so do ?>~ characters).';
    const email = toEmail(
      {
        ...resourceBase,
        payload: {
          partId: '',
          mimeType: 'text/plain',
          filename: '',
          headers: [...headers, { name: 'Content-Type', value: 'text/plain; charset="UTF-8"' }],
          body: { size: Buffer.byteLength(text), data: base64url(text) },
        },
      },
      'full',
    );

    expect(email.textBody).toBe(text);
    expect(email).not.toHaveProperty('htmlBody');
    expect(email.attachments).toEqual([]);
  });

  it('keeps the first text part when a forwarded message nests another one', () => {
    const forwardedText = 'the forwarded mail';
    const email = toEmail(
      {
        ...resourceBase,
        payload: {
          mimeType: 'multipart/mixed',
          filename: '',
          headers,
          parts: [
            { mimeType: 'text/plain', filename: '', body: { data: base64url('the outer mail') } },
            {
              mimeType: 'message/rfc822',
              filename: '',
              body: { size: 0 },
              parts: [{ mimeType: 'text/plain', filename: '', body: { data: base64url(forwardedText) } }],
            },
          ],
        },
      },
      'full',
    );

    expect(email.textBody).toBe('the outer mail');
  });

  it('fills missing fields with empty values', () => {
    const email = toEmail({ id: 'only-id' }, 'metadata');

    expect(email).toMatchObject({ id: 'only-id', threadId: '', from: '', subject: '', labels: [] });
    expect(email.date).toBe('1970-01-01T00:00:00.000Z');
  });
});

describe('boundEmail', () => {
  const bytes = (email: Email) => Buffer.byteLength(JSON.stringify(email));

  it('keeps a mail that fits as it is, flagged not truncated', () => {
    expect(boundEmail(sampleEmail)).toEqual({ ...sampleEmail, truncated: false });
  });

  it('cuts a 3 MB text body from its end to fit, and flags it', () => {
    const textBody = `start ${'0123456789'.repeat(300_000)} end`;
    const bounded = boundEmail({ ...sampleEmail, textBody, htmlBody: '<p>short</p>' });
    expect(bounded.truncated).toBe(true);
    expect(bytes(bounded)).toBeLessThanOrEqual(MAX_EMAIL_BYTES);
    expect(MAX_EMAIL_BYTES).toBeLessThan(MAX_TRIGGER_DATA_BYTES);
    // The short html stays whole; the text takes all the rest of the room.
    expect(bounded.htmlBody).toBe('<p>short</p>');
    expect(textBody.startsWith(bounded.textBody ?? '')).toBe(true);
    expect(bytes(bounded)).toBeGreaterThan(MAX_EMAIL_BYTES - 16);
    expect(bounded.subject).toBe(sampleEmail.subject);
  });

  it('shares the room between two large bodies, counting JSON escapes and multi-byte characters', () => {
    const textBody = '"\n€😀'.repeat(200_000);
    const htmlBody = `<p>${'é'.repeat(1_000_000)}</p>`;
    const bounded = boundEmail({ ...sampleEmail, textBody, htmlBody });
    expect(bounded.truncated).toBe(true);
    expect(bytes(bounded)).toBeLessThanOrEqual(MAX_EMAIL_BYTES);
    expect(bytes(bounded)).toBeGreaterThan(MAX_EMAIL_BYTES - 16);
    expect(textBody.startsWith(bounded.textBody ?? '')).toBe(true);
    expect(htmlBody.startsWith(bounded.htmlBody ?? '')).toBe(true);
    // Never half a character: the cut text is still valid UTF-16.
    const lastUnit = bounded.textBody?.charCodeAt((bounded.textBody?.length ?? 0) - 1) ?? 0;
    expect(lastUnit >= 0xd800 && lastUnit <= 0xdbff).toBe(false);
    expect((bounded.textBody?.length ?? 0) > 100_000 && (bounded.htmlBody?.length ?? 0) > 100_000).toBe(true);
  });

  it('also cuts headers and the attachment list when they alone are huge', () => {
    const huge = 'x'.repeat(400_000);
    const attachments = Array.from({ length: 5_000 }, (_, index) => ({
      filename: `file-${index}-${'n'.repeat(200)}.pdf`,
      mimeType: 'application/pdf',
      size: 1,
      attachmentId: `att-${index}`,
    }));
    const bounded = boundEmail({ ...sampleEmail, subject: huge, to: huge, textBody: huge, attachments });
    expect(bounded.truncated).toBe(true);
    expect(bytes(bounded)).toBeLessThanOrEqual(MAX_EMAIL_BYTES);
    expect(bounded.subject.length).toBeLessThan(huge.length);
    expect(bounded.attachments?.length).toBeLessThan(attachments.length);
    expect((bounded.textBody?.length ?? 0) > 100_000).toBe(true);
  });

  it('bounds what toEmail returns', () => {
    const big = 'y'.repeat(3 * 1024 * 1024);
    const email = toEmail(
      {
        id: 'big',
        payload: { mimeType: 'text/plain', body: { data: Buffer.from(big).toString('base64url') } },
      },
      'full',
    );
    expect(email.truncated).toBe(true);
    expect(bytes(email)).toBeLessThanOrEqual(MAX_EMAIL_BYTES);
    expect(emailSchema.safeParse(email).success).toBe(true);
    // read-email shares the bound between the mails it returns.
    const share = toEmail(
      {
        id: 'big',
        payload: { mimeType: 'text/plain', body: { data: Buffer.from(big).toString('base64url') } },
      },
      'full',
      50_000,
    );
    expect(bytes(share)).toBeLessThanOrEqual(50_000);
    expect(share.truncated).toBe(true);
  });
});

const noLabels: ReadonlyMap<string, string> = new Map();

function mail(overrides: Partial<Email>): Email {
  return {
    ...sampleEmail,
    from: 'Boss <boss@company.com>',
    to: 'Me <me@gmail.com>',
    cc: '',
    subject: 'Quarterly numbers',
    labels: ['INBOX', 'UNREAD'],
    ...overrides,
  };
}

describe('matchesFilter', () => {
  it('matches everything when no filter is set', () => {
    expect(matchesFilter({}, mail({}), noLabels)).toBe(true);
  });

  it('matches an address filter only against whole addresses, ignoring case', () => {
    expect(matchesFilter({ from: 'boss@company.com' }, mail({}), noLabels)).toBe(true);
    expect(matchesFilter({ from: ' BOSS@Company.com ' }, mail({}), noLabels)).toBe(true);
    // Substrings of another address must not match an address filter.
    expect(matchesFilter({ from: 'boss@company.com' }, mail({ from: 'notboss@company.com' }), noLabels)).toBe(
      false,
    );
    expect(
      matchesFilter({ from: 'boss@company.com' }, mail({ from: 'boss@company.com.evil.example' }), noLabels),
    ).toBe(false);
    // The display name is not the address.
    expect(
      matchesFilter(
        { from: 'boss@company.com' },
        mail({ from: '"boss@company.com" <x@evil.example>' }),
        noLabels,
      ),
    ).toBe(false);
  });

  it('matches a filter without @ as a case-insensitive substring of the header', () => {
    expect(matchesFilter({ from: 'company.com' }, mail({}), noLabels)).toBe(true);
    expect(matchesFilter({ from: 'boss' }, mail({ from: 'The BOSS <b@x.org>' }), noLabels)).toBe(true);
    expect(matchesFilter({ from: 'company.com' }, mail({ from: 'b@other.org' }), noLabels)).toBe(false);
  });

  it('matches a To filter against To and Cc', () => {
    const copied = mail({ to: 'someone@company.com', cc: 'Me <ME@gmail.com>, other@x.org' });

    expect(matchesFilter({ to: 'me@gmail.com' }, copied, noLabels)).toBe(true);
    expect(matchesFilter({ to: 'other@x.org' }, copied, noLabels)).toBe(true);
    expect(matchesFilter({ to: 'someone@company.com' }, copied, noLabels)).toBe(true);
    expect(matchesFilter({ to: 'nobody@gmail.com' }, copied, noLabels)).toBe(false);
    expect(matchesFilter({ to: 'x.org' }, copied, noLabels)).toBe(true);
  });

  it('matches subjectContains ignoring case', () => {
    expect(matchesFilter({ subjectContains: 'QUARTERLY' }, mail({}), noLabels)).toBe(true);
    expect(matchesFilter({ subjectContains: 'numbers' }, mail({ subject: 'NUMBERS due' }), noLabels)).toBe(
      true,
    );
    expect(matchesFilter({ subjectContains: 'invoice' }, mail({}), noLabels)).toBe(false);
  });

  it('matches a label by id, and a user label by its name through the map', () => {
    const labelIdsByName = new Map([['clients/acme', 'Label_12']]);
    const labelled = mail({ labels: ['INBOX', 'Label_12'] });

    expect(matchesFilter({ label: 'INBOX' }, labelled, noLabels)).toBe(true);
    expect(matchesFilter({ label: 'inbox' }, labelled, noLabels)).toBe(true);
    expect(matchesFilter({ label: 'Label_12' }, labelled, noLabels)).toBe(true);
    expect(matchesFilter({ label: 'Clients/ACME' }, labelled, labelIdsByName)).toBe(true);
    expect(matchesFilter({ label: 'Clients/ACME' }, mail({ labels: ['INBOX'] }), labelIdsByName)).toBe(false);
    // Without the map a name is only compared with the ids, and fails.
    expect(matchesFilter({ label: 'Clients/ACME' }, labelled, noLabels)).toBe(false);
    expect(matchesFilter({ label: 'STARRED' }, labelled, noLabels)).toBe(false);
  });

  it('requires every filter that is set', () => {
    const filter = {
      from: 'boss@company.com',
      to: 'me@gmail.com',
      subjectContains: 'quarterly',
      label: 'INBOX',
    };

    expect(matchesFilter(filter, mail({}), noLabels)).toBe(true);
    expect(matchesFilter(filter, mail({ from: 'other@company.com' }), noLabels)).toBe(false);
    expect(matchesFilter(filter, mail({ to: 'other@gmail.com' }), noLabels)).toBe(false);
    expect(matchesFilter(filter, mail({ subject: 'Lunch?' }), noLabels)).toBe(false);
    expect(matchesFilter(filter, mail({ labels: ['SENT'] }), noLabels)).toBe(false);
  });
});

describe('templatesReadBody', () => {
  it('is false when the templates read headers only', () => {
    expect(templatesReadBody({ subject: 'Re: {{trigger.subject}}', to: '{{ trigger.from }}' })).toBe(false);
    expect(templatesReadBody({ body: 'No templates at all' })).toBe(false);
    expect(templatesReadBody({ body: '{{trigger.snippet}} ({{trigger.labels.0}})' })).toBe(false);
  });

  it('is true when a template reads a body field, however deep in the config', () => {
    expect(templatesReadBody({ subject: '{{trigger.subject}}', body: '{{trigger.textBody}}' })).toBe(true);
    expect(templatesReadBody({ nested: { list: ['x', '{{ trigger.htmlBody }}'] } })).toBe(true);
    expect(templatesReadBody({ body: 'first file: {{trigger.attachments.0.filename}}' })).toBe(true);
  });

  it('is true when a template takes the whole trigger output, or cannot be read', () => {
    expect(templatesReadBody({ body: '{{trigger}}' })).toBe(true);
    expect(templatesReadBody({ body: '{{trigger.}}' })).toBe(true);
  });
});
