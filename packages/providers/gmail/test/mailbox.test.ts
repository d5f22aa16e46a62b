// The mailbox activities against a fake Gmail API (real HTTP, real @googleapis/gmail client) and
// in-memory listener services.
import type { ListenerRecord, ListenerServices, ListenerSubscriber } from '@autoflow/provider-registry';
import type { GmailMailboxActivities, JsonValue } from '@autoflow/workflow-contracts';
import { ApplicationFailure } from '@temporalio/common';
import { Agent } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createMailboxActivities } from '../src/mailbox.js';
import { FakeGmail, gmailMessage, messageAdded } from './fake-gmail.js';

const CREDENTIAL_ID = 7;
const DAY_MS = 24 * 60 * 60 * 1000;
const TOPIC = 'projects/autoflow-test/topics/gmail';

interface StartedRun {
  workflowId: number;
  eventId: string;
  triggerData: JsonValue;
}

const gmail = new FakeGmail();
const dispatcher = new Agent();
let records: Map<number, ListenerRecord>;
let subscribers: ListenerSubscriber[];
let runs: StartedRun[];
let env: Record<string, string | undefined>;
let tokenFailure: Error | undefined;

beforeAll(() => gmail.start());
afterAll(async () => {
  await gmail.stop();
  await dispatcher.close();
});

beforeEach(() => {
  records = new Map();
  subscribers = [];
  runs = [];
  tokenFailure = undefined;
  env = { GMAIL_API_ROOT_URL: gmail.url, GMAIL_PUBSUB_TOPIC: TOPIC };
  gmail.requests.length = 0;
  gmail.failures.clear();
  gmail.messages.clear();
  gmail.profile = { emailAddress: 'me@gmail.com', historyId: '5000' };
  gmail.history = { historyId: '5000', pages: [[]] };
  gmail.searchResults = [];
  gmail.labels = [];
});

afterEach(() => {
  // Every call the activities made was one the fake knows.
  expect(gmail.requests.filter((request) => !request.call.startsWith('users.'))).toEqual([]);
});

function activities(): GmailMailboxActivities {
  const services: ListenerServices = {
    httpDispatcher: dispatcher,
    env,
    async accessToken(credentialId) {
      if (tokenFailure) throw tokenFailure;
      return `access-token-${credentialId}`;
    },
    async subscribers() {
      return subscribers;
    },
    records: {
      async get(credentialId) {
        return records.get(credentialId);
      },
      async save(credentialId, record) {
        records.set(credentialId, record);
      },
      async remove(credentialId) {
        records.delete(credentialId);
      },
    },
  };
  return createMailboxActivities(services);
}

/** A workflow reading the mailbox; a mail it has already run for starts nothing. */
function subscribe(
  workflowId: number,
  triggerConfig: unknown,
  actionConfig: JsonValue = { subject: 'Re: {{trigger.subject}}' },
): void {
  subscribers.push({
    workflowId,
    triggerConfig,
    actionConfig,
    async startRun(eventId, triggerData) {
      if (runs.some((run) => run.workflowId === workflowId && run.eventId === eventId))
        return { started: false };
      runs.push({ workflowId, eventId, triggerData });
      return { started: true };
    },
  });
}

function watchedRecord(overrides: Partial<ListenerRecord> = {}): ListenerRecord {
  const watchedAt = new Date(Date.now() - 60_000);
  return {
    account: 'me@gmail.com',
    cursor: '4000',
    watchedAt,
    watchExpiresAt: new Date(watchedAt.getTime() + 7 * DAY_MS),
    ...overrides,
  };
}

function runsOf(workflowId: number): string[] {
  return runs.filter((run) => run.workflowId === workflowId).map((run) => run.eventId);
}

describe('gmailSyncWatch', () => {
  it('records the mailbox, then starts the watch from the profile historyId on a first start', async () => {
    subscribe(1, {});
    const before = Date.now();

    const result = await activities().gmailSyncWatch({ credentialId: CREDENTIAL_ID, renew: false });

    expect(result.watching).toBe(true);
    expect(result.historyId).toBe('5000');
    expect(result.renewWatchAt).toBeGreaterThanOrEqual(before + DAY_MS);
    expect(result.renewWatchAt).toBeLessThanOrEqual(Date.now() + DAY_MS);
    expect(gmail.requests.map((request) => request.call)).toEqual(['users.getProfile', 'users.watch']);
    expect(JSON.parse(gmail.callsOf('users.watch')[0]?.body ?? '{}')).toMatchObject({ topicName: TOPIC });
    expect(records.get(CREDENTIAL_ID)).toEqual({
      account: 'me@gmail.com',
      cursor: '5000',
      watchedAt: expect.any(Date),
      watchExpiresAt: new Date(Number(gmail.watchExpiration)),
    });
  });

  it('touches nothing while the recorded watch is fresh, and answers the recorded cursor', async () => {
    subscribe(1, {});
    const record = watchedRecord();
    records.set(CREDENTIAL_ID, record);

    const result = await activities().gmailSyncWatch({ credentialId: CREDENTIAL_ID, renew: false });

    expect(result).toEqual({
      watching: true,
      historyId: '4000',
      renewWatchAt: (record.watchedAt?.getTime() ?? 0) + DAY_MS,
    });
    expect(gmail.requests).toEqual([]);
  });

  it('renews the watch when asked, keeping the recorded cursor', async () => {
    subscribe(1, {});
    records.set(CREDENTIAL_ID, watchedRecord());

    const result = await activities().gmailSyncWatch({ credentialId: CREDENTIAL_ID, renew: true });

    expect(gmail.requests.map((request) => request.call)).toEqual(['users.watch']);
    expect(result.historyId).toBe('4000');
    expect(records.get(CREDENTIAL_ID)?.cursor).toBe('4000');
    expect(records.get(CREDENTIAL_ID)?.watchedAt?.getTime()).toBeGreaterThan(Date.now() - 5_000);
  });

  it('watches again when the recorded watch is close to expiring', async () => {
    subscribe(1, {});
    records.set(CREDENTIAL_ID, watchedRecord({ watchExpiresAt: new Date(Date.now() + 60 * 60 * 1000) }));

    await activities().gmailSyncWatch({ credentialId: CREDENTIAL_ID, renew: false });

    expect(gmail.requests.map((request) => request.call)).toEqual(['users.watch']);
  });

  it('stops the watch and forgets the mailbox when no workflow reads it', async () => {
    records.set(CREDENTIAL_ID, watchedRecord());

    const result = await activities().gmailSyncWatch({ credentialId: CREDENTIAL_ID, renew: false });

    expect(result).toEqual({ watching: false, historyId: null, renewWatchAt: null });
    expect(gmail.requests.map((request) => request.call)).toEqual(['users.stop']);
    expect(records.has(CREDENTIAL_ID)).toBe(false);
  });

  it('forgets the mailbox even when the grant is gone and the stop fails', async () => {
    records.set(CREDENTIAL_ID, watchedRecord());
    gmail.failures.set('users.stop', { status: 401, reason: 'authError' });

    const result = await activities().gmailSyncWatch({ credentialId: CREDENTIAL_ID, renew: false });

    expect(result.watching).toBe(false);
    expect(records.has(CREDENTIAL_ID)).toBe(false);
  });

  it('calls the mailbox unusable without a topic to push to', async () => {
    subscribe(1, {});
    env.GMAIL_PUBSUB_TOPIC = undefined;

    await expect(
      activities().gmailSyncWatch({ credentialId: CREDENTIAL_ID, renew: false }),
    ).rejects.toMatchObject({
      type: 'MailboxUnusable',
      nonRetryable: true,
    });
    expect(gmail.requests).toEqual([]);
  });

  it('calls the mailbox unusable when the credential yields no token', async () => {
    subscribe(1, {});
    tokenFailure = new Error('the credential needs reconnecting');

    const attempt = activities().gmailSyncWatch({ credentialId: CREDENTIAL_ID, renew: false });

    await expect(attempt).rejects.toBeInstanceOf(ApplicationFailure);
    await expect(attempt).rejects.toMatchObject({
      type: 'MailboxUnusable',
      nonRetryable: true,
      message: 'the credential needs reconnecting',
    });
  });

  it.each([
    [401, 'authError'],
    [403, 'insufficientPermissions'],
    [400, 'invalidArgument'],
  ])('calls the mailbox unusable when Gmail refuses the watch with %i %s', async (status, reason) => {
    subscribe(1, {});
    gmail.failures.set('users.watch', { status, reason });

    await expect(
      activities().gmailSyncWatch({ credentialId: CREDENTIAL_ID, renew: false }),
    ).rejects.toMatchObject({
      type: 'MailboxUnusable',
      nonRetryable: true,
    });
  });

  it.each([
    [503, 'backendError'],
    [429, 'rateLimitExceeded'],
    [403, 'userRateLimitExceeded'],
  ])('leaves a %i %s to retries, with Gmail’s Retry-After', async (status, reason) => {
    subscribe(1, {});
    gmail.failures.set('users.watch', { status, reason, retryAfterSeconds: 7 });

    await expect(
      activities().gmailSyncWatch({ credentialId: CREDENTIAL_ID, renew: false }),
    ).rejects.toMatchObject({
      type: 'GmailUnavailable',
      nonRetryable: false,
      nextRetryDelay: 7_000,
    });
  });
});

describe('gmailProcessHistory', () => {
  beforeEach(() => {
    records.set(CREDENTIAL_ID, watchedRecord());
    gmail.history = {
      historyId: '5000',
      pages: [
        [
          messageAdded('m-boss', ['UNREAD', 'INBOX']),
          messageAdded('m-draft', ['DRAFT']),
          messageAdded('m-sent', ['SENT']),
        ],
        [messageAdded('m-other', ['INBOX', 'CATEGORY_UPDATES']), messageAdded('m-self', ['SENT', 'INBOX'])],
      ],
    };
    const mails = [
      gmailMessage('m-boss', {
        from: 'Boss <boss@company.com>',
        subject: 'Quarterly numbers',
        labels: ['INBOX'],
      }),
      gmailMessage('m-draft', { from: 'me@gmail.com', subject: 'unfinished', labels: ['DRAFT'] }),
      gmailMessage('m-sent', { from: 'me@gmail.com', to: 'x@y.org', subject: 'sent', labels: ['SENT'] }),
      gmailMessage('m-other', {
        from: 'news@shop.example',
        subject: 'Sale',
        labels: ['INBOX', 'CATEGORY_UPDATES'],
      }),
      gmailMessage('m-self', { from: 'me@gmail.com', subject: 'note to self', labels: ['SENT', 'INBOX'] }),
    ];
    for (const mail of mails) gmail.messages.set(mail.id ?? '', mail);
  });

  it('starts a run per received mail and matching workflow, across every history page', async () => {
    subscribe(1, { from: 'boss@company.com' });
    subscribe(2, {});

    const result = await activities().gmailProcessHistory({
      credentialId: CREDENTIAL_ID,
      cursor: '4000',
      cursorTime: Date.now() - 60_000,
    });

    expect(runsOf(1)).toEqual(['m-boss']);
    expect(runsOf(2)).toEqual(['m-boss', 'm-other', 'm-self']);
    // The first page's position: what arrived while paging is read again next time, never skipped.
    expect(result).toMatchObject({ cursor: '5000', messagesSeen: 3, runsStarted: 4, resynced: false });
    expect(records.get(CREDENTIAL_ID)?.cursor).toBe('5000');

    const historyCalls = gmail.callsOf('users.history.list');
    expect(historyCalls.map((call) => call.query.get('startHistoryId'))).toEqual(['4000', '4000']);
    expect(historyCalls.map((call) => call.query.get('pageToken'))).toEqual([null, '1']);
    // Drafts and the account's own sent mail are not fetched at all.
    const fetched = gmail.callsOf('users.messages.get').map((call) => call.query.get('format'));
    expect(fetched).toEqual(['metadata', 'metadata', 'metadata']);
  });

  it('hands each run the mail as trigger data, with headers only when no template reads the body', async () => {
    subscribe(1, { from: 'boss@company.com' });

    await activities().gmailProcessHistory({ credentialId: CREDENTIAL_ID, cursor: '4000', cursorTime: null });

    expect(runs[0]?.triggerData).toMatchObject({
      id: 'm-boss',
      threadId: 'thread-m-boss',
      from: 'Boss <boss@company.com>',
      subject: 'Quarterly numbers',
      messageIdHeader: '<m-boss@mail.example>',
    });
    expect(runs[0]?.triggerData).not.toHaveProperty('textBody');
    const asked = gmail.callsOf('users.messages.get')[0]?.query.getAll('metadataHeaders');
    expect(asked).toEqual(expect.arrayContaining(['From', 'To', 'Cc', 'Subject', 'Message-ID']));
  });

  it('fetches full mails when a workflow’s template reads the body', async () => {
    subscribe(1, { from: 'boss@company.com' }, { body: 'He wrote: {{trigger.textBody}}' });

    await activities().gmailProcessHistory({ credentialId: CREDENTIAL_ID, cursor: '4000', cursorTime: null });

    expect(gmail.callsOf('users.messages.get').map((call) => call.query.get('format'))).toEqual([
      'full',
      'full',
      'full',
    ]);
    expect(runs[0]?.triggerData).toMatchObject({ id: 'm-boss', textBody: 'Hello', attachments: [] });
  });

  it('starts no second run for a mail read twice', async () => {
    subscribe(1, {});
    const read = () =>
      activities().gmailProcessHistory({ credentialId: CREDENTIAL_ID, cursor: '4000', cursorTime: null });

    expect((await read()).runsStarted).toBe(3);
    expect((await read()).runsStarted).toBe(0);
    expect(runsOf(1)).toEqual(['m-boss', 'm-other', 'm-self']);
  });

  it('skips a mail deleted since it was announced', async () => {
    subscribe(1, {});
    gmail.messages.delete('m-other');

    const result = await activities().gmailProcessHistory({
      credentialId: CREDENTIAL_ID,
      cursor: '4000',
      cursorTime: null,
    });

    expect(runsOf(1)).toEqual(['m-boss', 'm-self']);
    expect(result.cursor).toBe('5000');
  });

  it('advances the cursor without fetching mail when no workflow reads the mailbox', async () => {
    const result = await activities().gmailProcessHistory({
      credentialId: CREDENTIAL_ID,
      cursor: '4000',
      cursorTime: null,
    });

    expect(result).toMatchObject({ cursor: '5000', runsStarted: 0 });
    expect(gmail.callsOf('users.messages.get')).toEqual([]);
    expect(records.get(CREDENTIAL_ID)?.cursor).toBe('5000');
  });

  it('ignores a workflow whose stored trigger config no longer parses', async () => {
    subscribe(1, { from: 42 });
    subscribe(2, { subjectContains: 'sale' });

    await activities().gmailProcessHistory({ credentialId: CREDENTIAL_ID, cursor: '4000', cursorTime: null });

    expect(runsOf(1)).toEqual([]);
    expect(runsOf(2)).toEqual(['m-other']);
  });

  describe('label filters', () => {
    beforeEach(() => {
      gmail.labels = [
        { id: 'INBOX', name: 'INBOX', type: 'system' },
        { id: 'Label_12', name: 'Clients/ACME', type: 'user' },
        { id: 'Label_31', name: 'VIP', type: 'user' },
      ];
      const boss = gmail.messages.get('m-boss');
      if (boss) boss.labelIds = ['INBOX', 'Label_12', 'Label_31'];
    });
    const read = () =>
      activities().gmailProcessHistory({ credentialId: CREDENTIAL_ID, cursor: '4000', cursorTime: null });

    it('match system label ids and user label ids without listing the labels', async () => {
      subscribe(1, { label: 'CATEGORY_UPDATES' });
      subscribe(2, { label: 'Label_12' });

      await read();

      expect(runsOf(1)).toEqual(['m-other']);
      expect(runsOf(2)).toEqual(['m-boss']);
      expect(gmail.callsOf('users.labels.list')).toEqual([]);
    });

    it('resolve a user label’s name through the label list, ignoring case', async () => {
      subscribe(1, { label: 'clients/acme' });

      await read();

      expect(runsOf(1)).toEqual(['m-boss']);
      expect(gmail.callsOf('users.labels.list')).toHaveLength(1);
    });

    it('resolve a user label whose name looks like a system label id', async () => {
      subscribe(1, { label: 'VIP' });

      await read();

      expect(runsOf(1)).toEqual(['m-boss']);
    });
  });

  it('resyncs by date from shortly before the cursor’s time when the cursor has expired', async () => {
    subscribe(1, {});
    gmail.history = 'expired';
    gmail.profile = { emailAddress: 'me@gmail.com', historyId: '9000' };
    gmail.searchResults = ['m-boss', 'm-sent', 'm-gone'];
    const cursorTime = Date.UTC(2025, 10, 20, 12, 0, 0);

    const result = await activities().gmailProcessHistory({
      credentialId: CREDENTIAL_ID,
      cursor: '4000',
      cursorTime,
    });

    expect(result).toMatchObject({ cursor: '9000', resynced: true, messagesSeen: 3, runsStarted: 1 });
    // Ten minutes of margin, in seconds.
    expect(gmail.callsOf('users.messages.list')[0]?.query.get('q')).toBe(
      `after:${(cursorTime - 600_000) / 1000}`,
    );
    // Labels are known only after the get: the sent mail is fetched, then dropped.
    expect(runsOf(1)).toEqual(['m-boss']);
    expect(records.get(CREDENTIAL_ID)?.cursor).toBe('9000');
  });

  it('calls the mailbox unusable when Gmail refuses the credential', async () => {
    subscribe(1, {});
    gmail.failures.set('users.history.list', { status: 401, reason: 'authError' });

    await expect(
      activities().gmailProcessHistory({ credentialId: CREDENTIAL_ID, cursor: '4000', cursorTime: null }),
    ).rejects.toMatchObject({ type: 'MailboxUnusable', nonRetryable: true });
    expect(records.get(CREDENTIAL_ID)?.cursor).toBe('4000');
  });

  it('leaves an outage while reading mail to retries, without moving the cursor', async () => {
    subscribe(1, {});
    gmail.failures.set('users.messages.get', { status: 500, reason: 'backendError' });

    await expect(
      activities().gmailProcessHistory({ credentialId: CREDENTIAL_ID, cursor: '4000', cursorTime: null }),
    ).rejects.toMatchObject({ type: 'GmailUnavailable', nonRetryable: false });
    expect(records.get(CREDENTIAL_ID)?.cursor).toBe('4000');
    expect(runs).toEqual([]);
  });
});
