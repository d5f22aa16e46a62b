import type { IncomingHttpHeaders } from 'node:http';
import { auth, gmail, type gmail_v1 } from '@googleapis/gmail';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import PostalMime from 'postal-mime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeGmail, FakePubSubPush, startLocalServer } from '../src/index.js';

// Above Number.MAX_SAFE_INTEGER, so any detour through a JS number would lose digits.
const BIG_HISTORY_START = 2n ** 53n + 10n;

/** A field of a JSON object, or undefined; keeps assertions free of casts. */
function field(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = Object.entries(current).find(([name]) => name === key)?.[1];
  }
  return current;
}

describe('FakeGmail through @googleapis/gmail', () => {
  const fake = new FakeGmail();
  let mailboxCount = 0;

  /** A fresh mailbox per test keeps history, quota and sent mail independent. */
  function newMailbox(firstHistoryId?: bigint): {
    address: string;
    token: string;
    users: gmail_v1.Resource$Users;
  } {
    mailboxCount++;
    const address = `user${mailboxCount}@gmail.test`;
    fake.addMailbox(address, { firstHistoryId });
    const token = `ya29.token-${mailboxCount}`;
    fake.grant(token, address);
    const client = gmail({
      version: 'v1',
      rootUrl: fake.rootUrl,
      headers: { authorization: `Bearer ${token}` },
    });
    return { address, token, users: client.users };
  }

  beforeAll(async () => {
    await fake.start();
  });

  afterAll(async () => {
    await fake.stop();
  });

  it('answers getProfile for an OAuth2 client whose token the tokenOwner hook recognises', async () => {
    const { address } = newMailbox(BIG_HISTORY_START);
    fake.tokenOwner = (token) => (token === 'oauth-issued-token' ? address : undefined);
    try {
      const oauth = new auth.OAuth2({ clientId: 'client', clientSecret: 'secret' });
      oauth.setCredentials({ access_token: 'oauth-issued-token' });
      const client = gmail({ version: 'v1', rootUrl: fake.rootUrl, auth: oauth });

      const profile = await client.users.getProfile({ userId: 'me' });

      expect(profile.data).toEqual({
        emailAddress: address,
        messagesTotal: 0,
        threadsTotal: 0,
        historyId: BIG_HISTORY_START.toString(),
      });
      const byAddress = await client.users.getProfile({ userId: address });
      expect(byAddress.data.emailAddress).toBe(address);
    } finally {
      fake.tokenOwner = undefined;
    }
  });

  it('rejects an unknown token with 401 and another user id with 403', async () => {
    const stranger = gmail({
      version: 'v1',
      rootUrl: fake.rootUrl,
      headers: { authorization: 'Bearer nope' },
    });
    await expect(stranger.users.getProfile({ userId: 'me' })).rejects.toMatchObject({
      status: 401,
      response: { data: { error: { code: 401, status: 'UNAUTHENTICATED' } } },
    });

    const { users } = newMailbox();
    await expect(users.getProfile({ userId: 'someone-else@gmail.test' })).rejects.toMatchObject({
      status: 403,
      response: { data: { error: { status: 'PERMISSION_DENIED' } } },
    });
  });

  it('keeps many mailboxes apart: each token reads only its own history, mail and quota', async () => {
    // The bench connects 1,000 mailboxes to one fake; 50 here, read at once.
    const mailboxes = Array.from({ length: 50 }, () => newMailbox());
    const delivered = mailboxes.map(({ address }) =>
      fake.deliver(address, { from: 'sender@example.com', to: address, subject: `to ${address}` }),
    );

    const read = await Promise.all(
      mailboxes.map(async ({ users }) => {
        const history = await users.history.list({ userId: 'me', startHistoryId: '1000' });
        const ids = (history.data.history ?? []).flatMap((record) =>
          (record.messagesAdded ?? []).map((added) => added.message?.id),
        );
        const profile = await users.getProfile({ userId: 'me' });
        return { ids, messagesTotal: profile.data.messagesTotal };
      }),
    );

    expect(read).toEqual(delivered.map((mail) => ({ ids: [mail.id], messagesTotal: 1 })));
    const [first, second] = mailboxes;
    const [, secondMail] = delivered;
    if (!first || !second || !secondMail) throw new Error('no mailboxes');
    // Another mailbox's message id is not found, and each mailbox pays only its own quota.
    await expect(first.users.messages.get({ userId: 'me', id: secondMail.id })).rejects.toMatchObject({
      status: 404,
    });
    expect(fake.unitsSpent(second.address)).toBe(2 + 1);
    expect(fake.callCount('history.list', first.address)).toBe(1);
  });

  it('records watch and stop, and refuses a watch without a topic', async () => {
    const { address, users } = newMailbox(BIG_HISTORY_START);
    const before = Date.now();

    const watched = await users.watch({
      userId: 'me',
      requestBody: { topicName: 'projects/autoflow-test/topics/gmail', labelIds: ['INBOX'] },
    });

    expect(watched.data.historyId).toBe(BIG_HISTORY_START.toString());
    const expiration = Number(watched.data.expiration);
    expect(expiration - before).toBeGreaterThanOrEqual(7 * 24 * 3600 * 1000);
    expect(expiration - Date.now()).toBeLessThanOrEqual(7 * 24 * 3600 * 1000);
    expect(fake.watchCalls.filter((call) => call.address === address)).toMatchObject([
      { topicName: 'projects/autoflow-test/topics/gmail', labelIds: ['INBOX'], expiration },
    ]);
    await expect(users.watch({ userId: 'me', requestBody: {} })).rejects.toMatchObject({ status: 400 });

    const stopped = await users.stop({ userId: 'me' });

    expect(stopped.status).toBe(204);
    expect(fake.stopCalls.filter((call) => call.address === address)).toHaveLength(1);
  });

  it('pages history past 2^53 with string ids, in increasing order', async () => {
    const { address, users } = newMailbox(BIG_HISTORY_START);
    const delivered = ['one', 'two', 'three'].map((subject) =>
      fake.deliver(address, { from: 'sender@example.com', to: address, subject, text: subject }),
    );
    fake.historyPageSize = 2;
    try {
      const first = await users.history.list({ userId: 'me', startHistoryId: BIG_HISTORY_START.toString() });
      expect(first.data.history).toHaveLength(2);
      expect(first.data.nextPageToken).toBeTruthy();

      const second = await users.history.list({
        userId: 'me',
        startHistoryId: BIG_HISTORY_START.toString(),
        pageToken: first.data.nextPageToken ?? '',
      });
      expect(second.data.history).toHaveLength(1);
      expect(second.data.nextPageToken).toBeUndefined();

      const records = [...(first.data.history ?? []), ...(second.data.history ?? [])];
      expect(records.map((record) => record.id)).toEqual(delivered.map((mail) => mail.historyId.toString()));
      expect(records.map((record) => record.messagesAdded?.[0]?.message?.id)).toEqual(
        delivered.map((mail) => mail.id),
      );
      expect(records[0]?.messagesAdded?.[0]?.message?.labelIds).toEqual(['INBOX', 'UNREAD']);
      const ids = records.map((record) => BigInt(record.id ?? '0'));
      expect(ids[0]).toBeGreaterThan(BIG_HISTORY_START);
      expect(ids[1]).toBeGreaterThan(ids[0] ?? 0n);
      expect(second.data.historyId).toBe(fake.historyId(address).toString());

      const upToDate = await users.history.list({
        userId: 'me',
        startHistoryId: second.data.historyId ?? '',
      });
      expect(upToDate.data).toEqual({ historyId: fake.historyId(address).toString() });
      const otherTypes = await users.history.list({
        userId: 'me',
        startHistoryId: BIG_HISTORY_START.toString(),
        historyTypes: ['labelAdded'],
      });
      expect(otherTypes.data.history).toBeUndefined();
    } finally {
      fake.historyPageSize = 100;
    }
  });

  it('answers history pages as they stand when asked, with mail arriving between pages', async () => {
    const { address, users } = newMailbox();
    for (const subject of ['one', 'two'])
      fake.deliver(address, { from: 'a@example.com', to: address, subject });
    const positionBefore = fake.historyId(address).toString();
    fake.historyPageSize = 1;
    fake.onHistoryList = async (mailbox) => {
      fake.onHistoryList = undefined;
      fake.deliver(mailbox, { from: 'late@example.com', to: mailbox, subject: 'late' });
    };
    try {
      const first = await users.history.list({ userId: 'me', startHistoryId: '1000' });
      const second = await users.history.list({
        userId: 'me',
        startHistoryId: '1000',
        pageToken: first.data.nextPageToken ?? '',
      });

      expect(first.data.historyId).toBe(positionBefore);
      expect(second.data.historyId).toBe(fake.historyId(address).toString());
      expect(second.data.nextPageToken).toBeTruthy();
      const pageTokens = fake.calls
        .filter((call) => call.address === address && call.method === 'history.list')
        .map((call) => call.query.get('pageToken'));
      expect(pageTokens).toEqual([null, first.data.nextPageToken]);
    } finally {
      fake.onHistoryList = undefined;
      fake.historyPageSize = 100;
    }
  });

  it('answers 404 for history that expired and 400 without a startHistoryId', async () => {
    const { address, users } = newMailbox(BIG_HISTORY_START);
    const kept = fake.deliver(address, { from: 'a@example.com', to: address, subject: 'kept', text: 'x' });
    fake.expireHistoryBefore(address, kept.historyId);

    await expect(
      users.history.list({ userId: 'me', startHistoryId: BIG_HISTORY_START.toString() }),
    ).rejects.toMatchObject({
      status: 404,
      response: {
        data: {
          error: {
            code: 404,
            message: 'Requested entity was not found.',
            errors: [{ domain: 'global', reason: 'notFound' }],
            status: 'NOT_FOUND',
          },
        },
      },
    });
    const fromKept = await users.history.list({ userId: 'me', startHistoryId: kept.historyId.toString() });
    expect(fromKept.data.history).toBeUndefined();
    await expect(users.history.list({ userId: 'me' })).rejects.toMatchObject({ status: 400 });
  });

  it('serves messages.get as metadata, full with decodable bodies, raw and minimal', async () => {
    const { address, users } = newMailbox();
    const mail = fake.deliver(address, {
      from: 'Ada <ada@example.com>',
      to: address,
      cc: 'cc@example.com',
      subject: 'Invoice ✓',
      text: "Here's the invoice.",
      html: '<p>Here&#39;s the <b>invoice</b>.</p>',
      attachments: [{ filename: 'facture-é.txt', mimeType: 'text/plain', content: 'total: 42' }],
    });

    const metadata = await users.messages.get({
      userId: 'me',
      id: mail.id,
      format: 'metadata',
      metadataHeaders: ['subject', 'From'],
    });
    expect(metadata.data.payload?.headers).toEqual([
      { name: 'From', value: 'Ada <ada@example.com>' },
      { name: 'Subject', value: 'Invoice ✓' },
    ]);
    expect(metadata.data.payload?.parts).toBeUndefined();
    expect(metadata.data.payload?.body).toBeUndefined();
    expect(metadata.data.snippet).toBe('Here&#39;s the invoice.');
    expect(metadata.data.historyId).toBe(mail.historyId.toString());
    expect(metadata.data.internalDate).toMatch(/^\d+$/);

    const full = await users.messages.get({ userId: 'me', id: mail.id, format: 'full' });
    const payload = full.data.payload;
    expect(payload?.mimeType).toBe('multipart/mixed');
    const headerNames = (payload?.headers ?? []).map((header) => header.name);
    expect(headerNames).toEqual(
      expect.arrayContaining(['From', 'To', 'Cc', 'Subject', 'Date', 'Message-ID']),
    );
    const [alternative, attachment] = payload?.parts ?? [];
    expect(alternative?.mimeType).toBe('multipart/alternative');
    const [plain, html] = alternative?.parts ?? [];
    expect(plain?.mimeType).toBe('text/plain');
    expect(Buffer.from(plain?.body?.data ?? '', 'base64url').toString()).toBe("Here's the invoice.");
    expect(plain?.body?.size).toBe(Buffer.byteLength("Here's the invoice."));
    expect(Buffer.from(html?.body?.data ?? '', 'base64url').toString()).toBe(
      '<p>Here&#39;s the <b>invoice</b>.</p>',
    );
    expect(attachment).toMatchObject({
      filename: 'facture-é.txt',
      mimeType: 'text/plain',
      body: { size: 9 },
    });
    expect(attachment?.body?.data).toBeUndefined();

    const downloaded = await users.messages.attachments.get({
      userId: 'me',
      messageId: mail.id,
      id: attachment?.body?.attachmentId ?? '',
    });
    expect(Buffer.from(downloaded.data.data ?? '', 'base64url').toString()).toBe('total: 42');

    const raw = await users.messages.get({ userId: 'me', id: mail.id, format: 'raw' });
    const parsed = await PostalMime.parse(Buffer.from(raw.data.raw ?? '', 'base64url'));
    expect(parsed.subject).toBe('Invoice ✓');
    expect(parsed.text).toBe("Here's the invoice.");
    expect(parsed.attachments.map((item) => item.filename)).toEqual(['facture-é.txt']);
    expect(parsed.from).toEqual({ name: 'Ada', address: 'ada@example.com' });

    const minimal = await users.messages.get({ userId: 'me', id: mail.id, format: 'minimal' });
    expect(minimal.data.payload).toBeUndefined();
    expect(minimal.data.labelIds).toEqual(['INBOX', 'UNREAD']);

    await expect(users.messages.get({ userId: 'me', id: 'ffffffffffffffff' })).rejects.toMatchObject({
      status: 404,
      response: { data: { error: { status: 'NOT_FOUND' } } },
    });
  });

  it('deletes a mail from outside, leaving a messageDeleted record in history', async () => {
    const { address, users } = newMailbox();
    const mail = fake.deliver(address, { from: 'a@example.com', to: address, subject: 'gone', text: 'x' });

    fake.deleteMessage(address, mail.id);

    await expect(users.messages.get({ userId: 'me', id: mail.id })).rejects.toMatchObject({ status: 404 });
    const deleted = await users.history.list({
      userId: 'me',
      startHistoryId: mail.historyId.toString(),
      historyTypes: ['messageDeleted'],
    });
    expect(deleted.data.history).toEqual([
      { id: fake.historyId(address).toString(), messages: [{ id: mail.id, threadId: mail.threadId }] },
    ]);
  });

  it('lists the system labels and the user labels added', async () => {
    const { address, users } = newMailbox();
    const clients = fake.addLabel(address, 'Clients/ACME');

    const listed = await users.labels.list({ userId: 'me' });

    expect(clients).toMatch(/^Label_\d+$/);
    expect(listed.data.labels).toEqual(
      expect.arrayContaining([
        { id: 'INBOX', name: 'INBOX', type: 'system' },
        { id: 'CATEGORY_UPDATES', name: 'CATEGORY_UPDATES', type: 'system' },
        {
          id: clients,
          name: 'Clients/ACME',
          type: 'user',
          messageListVisibility: 'show',
          labelListVisibility: 'labelShow',
        },
      ]),
    );
    expect(fake.callCount('labels.list', address)).toBe(1);
  });

  it('renders a text-only mail as a single text/plain payload', async () => {
    const { address, users } = newMailbox();
    const mail = fake.deliver(address, {
      from: 'a@example.com',
      to: address,
      subject: 'plain',
      text: 'just text',
    });

    const full = await users.messages.get({ userId: 'me', id: mail.id });

    expect(full.data.payload?.mimeType).toBe('text/plain');
    expect(full.data.payload?.parts).toBeUndefined();
    expect(Buffer.from(full.data.payload?.body?.data ?? '', 'base64url').toString()).toBe('just text');
  });

  it('lists messages newest first, filtered by rfc822msgid: and after:', async () => {
    const { address, users } = newMailbox();
    const older = fake.deliver(address, {
      from: 'a@example.com',
      to: address,
      subject: 'older',
      text: 'x',
      date: new Date('2025-01-01T10:00:00Z'),
    });
    const newer = fake.deliver(address, {
      from: 'b@example.com',
      to: address,
      subject: 'newer',
      text: 'y',
      date: new Date('2025-01-01T11:00:00Z'),
    });

    const all = await users.messages.list({ userId: 'me' });
    expect(all.data.messages).toEqual([
      { id: newer.id, threadId: newer.threadId },
      { id: older.id, threadId: older.threadId },
    ]);
    expect(all.data.resultSizeEstimate).toBe(2);

    const header = await users.messages.get({
      userId: 'me',
      id: older.id,
      format: 'metadata',
      metadataHeaders: ['Message-ID'],
    });
    const messageId = header.data.payload?.headers?.[0]?.value ?? '';
    expect(messageId).toMatch(/^<[^<>]+@mail\.fake>$/);
    for (const form of [messageId, messageId.slice(1, -1)]) {
      const found = await users.messages.list({ userId: 'me', q: `rfc822msgid:${form}` });
      expect(found.data.messages?.map((message) => message.id)).toEqual([older.id]);
    }

    const afterSecond = Date.parse('2025-01-01T10:30:00Z') / 1000;
    const recent = await users.messages.list({ userId: 'me', q: `after:${afterSecond} in:inbox` });
    expect(recent.data.messages?.map((message) => message.id)).toEqual([newer.id]);

    const paged = await users.messages.list({ userId: 'me', maxResults: 1 });
    expect(paged.data.messages?.map((message) => message.id)).toEqual([newer.id]);
    const rest = await users.messages.list({
      userId: 'me',
      maxResults: 1,
      pageToken: paged.data.nextPageToken ?? '',
    });
    expect(rest.data.messages?.map((message) => message.id)).toEqual([older.id]);
    expect(rest.data.nextPageToken).toBeUndefined();

    const none = await users.messages.list({ userId: 'me', q: 'rfc822msgid:<missing@mail.fake>' });
    expect(none.data).toEqual({ resultSizeEstimate: 0 });
  });

  it('records a sent message with its recipients, Bcc and Message-ID, and files it under SENT', async () => {
    const { address, users } = newMailbox(BIG_HISTORY_START);
    const seenByHook: string[] = [];
    fake.onSend = async (mail) => {
      seenByHook.push(mail.id);
    };
    const mime = [
      `From: Owner <${address}>`,
      'To: Ada <ada@example.com>, bob@example.com',
      'Cc: carol@example.com',
      'Bcc: hidden@example.com',
      'Subject: Re: Invoice',
      'Message-ID: <reply-1@autoflow.test>',
      'In-Reply-To: <original@mail.fake>',
      'References: <original@mail.fake>',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=UTF-8',
      '',
      'Thanks, received.',
    ].join('\r\n');
    try {
      const answer = await users.messages.send({
        userId: 'me',
        requestBody: { raw: Buffer.from(mime).toString('base64url') },
      });

      expect(answer.data.labelIds).toEqual(['SENT']);
      const sent = fake.sent.find((mail) => mail.id === answer.data.id);
      expect(sent).toMatchObject({
        threadId: answer.data.threadId,
        address,
        messageId: '<reply-1@autoflow.test>',
        from: address,
        to: ['ada@example.com', 'bob@example.com'],
        cc: ['carol@example.com'],
        bcc: ['hidden@example.com'],
        subject: 'Re: Invoice',
        inReplyTo: '<original@mail.fake>',
        references: '<original@mail.fake>',
      });
      expect(sent?.text?.trim()).toBe('Thanks, received.');
      expect(seenByHook).toEqual([answer.data.id]);

      const inSent = await users.messages.list({ userId: 'me', q: 'in:sent' });
      expect(inSent.data.messages?.map((message) => message.id)).toEqual([answer.data.id]);
      const history = await users.history.list({
        userId: 'me',
        startHistoryId: BIG_HISTORY_START.toString(),
      });
      expect(history.data.history?.[0]?.messagesAdded?.[0]?.message).toEqual({
        id: answer.data.id,
        threadId: answer.data.threadId,
        labelIds: ['SENT'],
      });
      await expect(users.messages.send({ userId: 'me', requestBody: {} })).rejects.toMatchObject({
        status: 400,
      });
    } finally {
      fake.onSend = undefined;
    }
  });

  it('charges Gmail quota units per method and counts calls', async () => {
    const { address, users } = newMailbox();
    const mail = fake.deliver(address, { from: 'a@example.com', to: address, subject: 'q', text: 'q' });

    await users.getProfile({ userId: 'me' });
    await users.history.list({ userId: 'me', startHistoryId: '1000' });
    await users.messages.list({ userId: 'me' });
    await users.messages.get({ userId: 'me', id: mail.id });
    await users.messages.get({ userId: 'me', id: mail.id, format: 'metadata' });
    await users.watch({ userId: 'me', requestBody: { topicName: 'projects/p/topics/t' } });
    await users.stop({ userId: 'me' });
    const raw = Buffer.from(`From: ${address}\r\nTo: x@example.com\r\nSubject: s\r\n\r\nbody`).toString(
      'base64url',
    );
    await users.messages.send({ userId: 'me', requestBody: { raw } });

    expect(fake.unitsSpent(address)).toBe(1 + 2 + 5 + 5 + 5 + 100 + 50 + 100);
    expect(fake.callCount('messages.get', address)).toBe(2);
    expect(fake.callCount('messages.send', address)).toBe(1);
    expect(fake.unitsSpent()).toBeGreaterThan(fake.unitsSpent(address));
  });

  it('fails the next calls of a method on demand, with Google error bodies', async () => {
    const { address, users } = newMailbox();

    // The client retries GETs on 5xx by itself, so one injected 503 ends in success.
    fake.failNext('history.list', 503);
    const retried = await users.history.list({ userId: 'me', startHistoryId: '1000' });
    expect(retried.status).toBe(200);
    expect(
      fake.calls
        .filter((call) => call.address === address && call.method === 'history.list')
        .map((c) => c.status),
    ).toEqual([503, 200]);

    // POSTs are not retried, so the 429 reaches the caller.
    fake.failNext('messages.send', 429);
    const raw = Buffer.from(`From: ${address}\r\nTo: x@example.com\r\nSubject: s\r\n\r\nbody`).toString(
      'base64url',
    );
    await expect(users.messages.send({ userId: 'me', requestBody: { raw } })).rejects.toMatchObject({
      status: 429,
      response: {
        data: {
          error: {
            code: 429,
            status: 'RESOURCE_EXHAUSTED',
            errors: [{ domain: 'usageLimits', reason: 'rateLimitExceeded' }],
          },
        },
      },
    });
    expect(fake.sent.filter((mail) => mail.address === address)).toHaveLength(0);
    const succeeded = await users.messages.send({ userId: 'me', requestBody: { raw } });
    expect(succeeded.status).toBe(200);
  });

  it('injects a failure with the reason, message and Retry-After asked for', async () => {
    const { token, users } = newMailbox();
    const failure = { reason: 'userRateLimitExceeded', message: 'Slow down', retryAfterSeconds: 7 };
    fake.failNext('watch', 403, 1, failure);

    await expect(
      users.watch({ userId: 'me', requestBody: { topicName: 'projects/p/topics/t' } }),
    ).rejects.toMatchObject({
      status: 403,
      response: {
        data: { error: { code: 403, message: 'Slow down', errors: [{ reason: 'userRateLimitExceeded' }] } },
      },
    });
    // Plain fetch: gaxios hides headers in a Headers object of its own.
    fake.failNext('getProfile', 503, 1, failure);
    const unavailable = await fetch(`${fake.rootUrl}gmail/v1/users/me/profile`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(unavailable.status).toBe(503);
    expect(unavailable.headers.get('retry-after')).toBe('7');
  });
});

describe('FakePubSubPush', () => {
  const audience = 'https://autoflow.test/api/webhooks/gmail';
  const serviceAccount = 'gmail-push@autoflow-test.iam.gserviceaccount.com';
  const pubsub = new FakePubSubPush({ audience, serviceAccount });
  const received: { headers: IncomingHttpHeaders; body: string }[] = [];
  let receiver: Awaited<ReturnType<typeof startLocalServer>>;

  const verify = (token: string) =>
    jwtVerify(token, createRemoteJWKSet(new URL(pubsub.jwksUrl)), {
      audience,
      issuer: 'https://accounts.google.com',
      algorithms: ['RS256'],
      clockTolerance: 300,
    });

  beforeAll(async () => {
    await pubsub.start();
    receiver = await startLocalServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
        response.writeHead(204).end();
      });
    });
  });

  afterAll(async () => {
    await receiver?.stop();
    await pubsub.stop();
  });

  it('issues tokens with Google claims that verify against its JWK Set', async () => {
    const token = await pubsub.token();

    const { payload, protectedHeader } = await verify(token);

    expect(protectedHeader).toMatchObject({ alg: 'RS256', kid: pubsub.keyId, typ: 'JWT' });
    expect(payload).toMatchObject({
      iss: 'https://accounts.google.com',
      aud: audience,
      email: serviceAccount,
      email_verified: true,
    });
    expect(payload.sub).toMatch(/^\d{21}$/);
    expect(payload.azp).toBe(payload.sub);
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(3600);

    const certs: unknown = await (await fetch(pubsub.jwksUrl)).json();
    expect(certs).toMatchObject({ keys: [{ kty: 'RSA', kid: pubsub.keyId, alg: 'RS256', use: 'sig' }] });
    expect(JSON.stringify(certs)).not.toContain('"d"');
  });

  it('issues tokens that fail verification when forged, expired or for another audience', async () => {
    const forged = await pubsub.token({ forged: true });
    expect(decodeProtectedHeader(forged).kid).toBe(pubsub.keyId);
    await expect(verify(forged)).rejects.toMatchObject({ code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
    await expect(verify(await pubsub.token({ expired: true }))).rejects.toMatchObject({
      code: 'ERR_JWT_EXPIRED',
    });
    await expect(verify(await pubsub.token({ audience: 'https://elsewhere.test' }))).rejects.toMatchObject({
      code: 'ERR_JWT_CLAIM_VALIDATION_FAILED',
      claim: 'aud',
    });
    await expect(verify(await pubsub.token({ issuer: 'https://evil.test' }))).rejects.toMatchObject({
      claim: 'iss',
    });
    const unverified = await verify(await pubsub.token({ emailVerified: false, email: 'other@x.test' }));
    expect(unverified.payload).toMatchObject({ email: 'other@x.test', email_verified: false });
  });

  it('writes envelopes whose notification keeps every digit of a historyId above 2^53', () => {
    const historyId = 2n ** 53n + 7n;

    const envelope: unknown = JSON.parse(pubsub.envelope({ emailAddress: 'a@b.test', historyId }));

    expect(envelope).toMatchObject({
      message: { attributes: {} },
      subscription: 'projects/autoflow-test/subscriptions/gmail-push',
    });
    expect(field(envelope, 'message', 'messageId')).toBe(field(envelope, 'message', 'message_id'));
    expect(field(envelope, 'message', 'publishTime')).toBe(field(envelope, 'message', 'publish_time'));
    const data = Buffer.from(String(field(envelope, 'message', 'data')), 'base64').toString('utf8');
    expect(data).toBe(`{"emailAddress":"a@b.test","historyId":${historyId}}`);
    expect(BigInt(/"historyId":(\d+)/.exec(data)?.[1] ?? '0')).toBe(historyId);

    const quoted = JSON.parse(
      pubsub.envelope({ emailAddress: 'a@b.test', historyId }, { historyIdAs: 'string' }),
    );
    const quotedData = Buffer.from(String(field(quoted, 'message', 'data')), 'base64').toString('utf8');
    expect(JSON.parse(quotedData)).toEqual({ emailAddress: 'a@b.test', historyId: historyId.toString() });
  });

  it('pushes with a bearer token, without one on request, and raw bodies', async () => {
    const endpoint = `http://127.0.0.1:${receiver.port}/push`;
    received.length = 0;

    const answered = await pubsub.push(endpoint, { emailAddress: 'a@b.test', historyId: 5n });
    await pubsub.push(endpoint, { emailAddress: 'a@b.test', historyId: 6n }, { withoutToken: true });
    await pubsub.pushRaw(endpoint, 'not json', { audience: 'https://elsewhere.test' });

    expect(answered.status).toBe(204);
    expect(pubsub.deliveries.slice(-3).map((delivery) => delivery.status)).toEqual([204, 204, 204]);
    const [withToken, withoutToken, raw] = received;
    expect(withToken?.headers['content-type']).toBe('application/json');
    const bearer = /^Bearer (.+)$/.exec(withToken?.headers.authorization ?? '')?.[1] ?? '';
    await expect(verify(bearer)).resolves.toMatchObject({ payload: { email: serviceAccount } });
    expect(withoutToken?.headers.authorization).toBeUndefined();
    expect(raw?.body).toBe('not json');
    expect(raw?.headers.authorization).toMatch(/^Bearer /);
  });
});
