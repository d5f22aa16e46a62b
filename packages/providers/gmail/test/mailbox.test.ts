// The mailbox activities against the shared fake Gmail API (real HTTP, real @googleapis/gmail client)
// and in-memory listener services.
import { FakeGmail, type GmailCall, type GmailMethod } from '@autoflow/fakes';
import {
  type ListenerRecord,
  type ListenerServices,
  type ListenerSubscriber,
  TokenRejectedError,
} from '@autoflow/provider-registry';
import type { GmailMailboxActivities, JsonValue } from '@autoflow/workflow-contracts';
import { ApplicationFailure } from '@temporalio/common';
import { Agent } from 'undici';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMailboxActivities } from '../src/mailbox.js';
import { type GmailSettings, gmailSettings } from '../src/settings.js';

const ADDRESS = 'me@gmail.com';
const CREDENTIAL_ID = 7;
/** The mailbox's position before any mail arrives; the recorded cursor ('4000') lies before it. */
const FIRST_HISTORY_ID = 5000n;
const DAY_MS = 24 * 60 * 60 * 1000;
const TOPIC = 'projects/autoflow-test/topics/gmail';

interface StartedRun {
  workflowId: number;
  eventId: string;
  triggerData: JsonValue;
}

let gmail: FakeGmail;
const dispatcher = new Agent();
let records: Map<number, ListenerRecord>;
let subscribers: ListenerSubscriber[];
let runs: StartedRun[];
let env: Record<string, string | undefined>;
let tokenUrls: string[];
let tokenFailure: Error | undefined;
/** Renewals after a Gmail 401, and what the next renewal throws (a refused refresh token). */
let renewals: number;
let renewalFailure: Error | undefined;

afterAll(() => dispatcher.close());

beforeEach(async () => {
  // A fresh fake per test: no mail, call or injected failure carries over.
  gmail = new FakeGmail();
  gmail.addMailbox(ADDRESS, { firstHistoryId: FIRST_HISTORY_ID });
  gmail.grant(`access-token-${CREDENTIAL_ID}`, ADDRESS);
  await gmail.start();
  records = new Map();
  subscribers = [];
  runs = [];
  tokenFailure = undefined;
  renewals = 0;
  renewalFailure = undefined;
  tokenUrls = [];
  env = { GMAIL_API_ROOT_URL: gmail.rootUrl, GMAIL_PUBSUB_TOPIC: TOPIC };
});

afterEach(async () => {
  await gmail.stop();
  // Every call the activities made was one the fake knows, with the credential's token.
  expect(gmail.calls.filter((call) => call.method === 'unknown' || call.address !== ADDRESS)).toEqual([]);
  // Every token was asked for the configured Gmail API, the only host it may go to.
  expect(tokenUrls.filter((url) => url !== gmail.rootUrl)).toEqual([]);
});

function callsOf(method: GmailMethod): GmailCall[] {
  return gmail.calls.filter((call) => call.method === method);
}

function methodsCalled(): string[] {
  return gmail.calls.map((call) => call.method);
}

function activities(): GmailMailboxActivities {
  const services: ListenerServices<GmailSettings> = {
    httpDispatcher: dispatcher,
    // Parsed by the provider's own schema, as the worker does at start.
    settings: gmailSettings.parse(env),
    // As the platform: on TokenRejectedError, one renewal (which may fail) and one more call.
    async withAccessTokenFor(credentialId, url, use) {
      tokenUrls.push(url);
      if (tokenFailure) throw tokenFailure;
      try {
        return await use(`access-token-${credentialId}`);
      } catch (error) {
        if (!(error instanceof TokenRejectedError)) throw error;
        renewals++;
        if (renewalFailure) throw renewalFailure;
        return use(`access-token-${credentialId}`);
      }
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
      async saveCursor(credentialId, cursor) {
        const record = records.get(credentialId);
        if (record) records.set(credentialId, { ...record, cursor });
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
    account: ADDRESS,
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
    expect(result.historyId).toBe(FIRST_HISTORY_ID.toString());
    expect(result.renewWatchAt).toBeGreaterThanOrEqual(before + DAY_MS);
    expect(result.renewWatchAt).toBeLessThanOrEqual(Date.now() + DAY_MS);
    expect(methodsCalled()).toEqual(['getProfile', 'watch']);
    expect(gmail.watchCalls).toMatchObject([{ address: ADDRESS, topicName: TOPIC }]);
    expect(records.get(CREDENTIAL_ID)).toEqual({
      account: ADDRESS,
      cursor: FIRST_HISTORY_ID.toString(),
      watchedAt: expect.any(Date),
      watchExpiresAt: new Date(gmail.watchCalls[0]?.expiration ?? 0),
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
    expect(gmail.calls).toEqual([]);
  });

  it('renews the watch when asked, keeping the recorded cursor', async () => {
    subscribe(1, {});
    records.set(CREDENTIAL_ID, watchedRecord());

    const result = await activities().gmailSyncWatch({ credentialId: CREDENTIAL_ID, renew: true });

    expect(methodsCalled()).toEqual(['watch']);
    expect(result.historyId).toBe('4000');
    expect(records.get(CREDENTIAL_ID)?.cursor).toBe('4000');
    expect(records.get(CREDENTIAL_ID)?.watchedAt?.getTime()).toBeGreaterThan(Date.now() - 5_000);
  });

  it('watches again when the recorded watch is close to expiring', async () => {
    subscribe(1, {});
    records.set(CREDENTIAL_ID, watchedRecord({ watchExpiresAt: new Date(Date.now() + 60 * 60 * 1000) }));

    await activities().gmailSyncWatch({ credentialId: CREDENTIAL_ID, renew: false });

    expect(methodsCalled()).toEqual(['watch']);
  });

  it('stops the watch and forgets the mailbox when no workflow reads it', async () => {
    records.set(CREDENTIAL_ID, watchedRecord());

    const result = await activities().gmailSyncWatch({ credentialId: CREDENTIAL_ID, renew: false });

    expect(result).toEqual({ watching: false, historyId: null, renewWatchAt: null });
    expect(methodsCalled()).toEqual(['stop']);
    expect(gmail.stopCalls).toMatchObject([{ address: ADDRESS }]);
    expect(records.has(CREDENTIAL_ID)).toBe(false);
  });

  it('forgets the mailbox even when the grant is gone and the stop fails', async () => {
    records.set(CREDENTIAL_ID, watchedRecord());
    gmail.failNext('stop', 401, 1, { reason: 'authError' });

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
    expect(gmail.calls).toEqual([]);
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
    // Twice: a 401 is worth one renewal of the token, after which it is final.
    gmail.failNext('watch', status, 2, { reason });

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
    gmail.failNext('watch', status, 1, { reason, retryAfterSeconds: 7 });

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
  /** The delivered mails' Gmail ids, by the name the tests use. */
  let mail: Record<'boss' | 'draft' | 'sent' | 'other' | 'self', string>;
  let acmeLabel: string;

  beforeEach(() => {
    records.set(CREDENTIAL_ID, watchedRecord());
    acmeLabel = gmail.addLabel(ADDRESS, 'Clients/ACME');
    const vipLabel = gmail.addLabel(ADDRESS, 'VIP');
    const deliver = (from: string, subject: string, labelIds: string[], to = ADDRESS) =>
      gmail.deliver(ADDRESS, { from, to, subject, text: 'Hello', labelIds }).id;
    mail = {
      boss: deliver('Boss <boss@company.com>', 'Quarterly numbers', ['UNREAD', 'INBOX', acmeLabel, vipLabel]),
      draft: deliver(ADDRESS, 'unfinished', ['DRAFT']),
      sent: deliver(ADDRESS, 'sent', ['SENT'], 'x@y.org'),
      other: deliver('news@shop.example', 'Sale', ['INBOX', 'CATEGORY_UPDATES']),
      self: deliver(ADDRESS, 'note to self', ['SENT', 'INBOX']),
    };
    // Two history pages: boss, draft and sent; then other and self.
    gmail.historyPageSize = 3;
  });

  const read = (cursor = '4000') =>
    activities().gmailProcessHistory({ credentialId: CREDENTIAL_ID, cursor, cursorTime: null });

  it('starts a run per received mail and matching workflow, across every history page', async () => {
    subscribe(1, { from: 'boss@company.com' });
    subscribe(2, {});
    const firstPagePosition = gmail.historyId(ADDRESS).toString();
    let late = '';
    // A mail arriving while the activity pages: later pages report a later historyId.
    gmail.onHistoryList = async () => {
      late ||= gmail.deliver(ADDRESS, { from: 'late@example.com', to: ADDRESS, subject: 'Late' }).id;
    };

    const result = await activities().gmailProcessHistory({
      credentialId: CREDENTIAL_ID,
      cursor: '4000',
      cursorTime: Date.now() - 60_000,
    });

    expect(runsOf(1)).toEqual([mail.boss]);
    expect(runsOf(2)).toEqual([mail.boss, mail.other, mail.self, late]);
    // The first page's position: what arrived while paging is read again next time, never skipped.
    expect(result).toMatchObject({
      cursor: firstPagePosition,
      messagesSeen: 4,
      runsStarted: 5,
      resynced: false,
    });
    expect(records.get(CREDENTIAL_ID)?.cursor).toBe(firstPagePosition);

    const historyCalls = callsOf('history.list');
    expect(historyCalls.map((call) => call.query.get('startHistoryId'))).toEqual(['4000', '4000']);
    expect(historyCalls.map((call) => call.query.get('pageToken'))).toEqual([null, expect.any(String)]);
    // Drafts and the account's own sent mail are not fetched at all.
    const fetched = callsOf('messages.get').map((call) => call.query.get('format'));
    expect(fetched).toEqual(['metadata', 'metadata', 'metadata', 'metadata']);

    gmail.onHistoryList = undefined;
    expect(await read(result.cursor)).toMatchObject({ messagesSeen: 1, runsStarted: 0 });
  });

  it('hands each run the mail as trigger data, with headers only when no template reads the body', async () => {
    subscribe(1, { from: 'boss@company.com' });

    await read();

    expect(runs[0]?.triggerData).toMatchObject({
      id: mail.boss,
      // Delivered mail starts its own thread, named after its first message.
      threadId: mail.boss,
      from: 'Boss <boss@company.com>',
      subject: 'Quarterly numbers',
      messageIdHeader: expect.stringMatching(/^<[^<>]+>$/),
    });
    expect(runs[0]?.triggerData).not.toHaveProperty('textBody');
    const asked = callsOf('messages.get')[0]?.query.getAll('metadataHeaders');
    expect(asked).toEqual(expect.arrayContaining(['From', 'To', 'Cc', 'Subject', 'Message-ID']));
  });

  it('fetches full mails when a workflow’s template reads the body', async () => {
    subscribe(1, { from: 'boss@company.com' }, { body: 'He wrote: {{trigger.textBody}}' });

    await read();

    expect(callsOf('messages.get').map((call) => call.query.get('format'))).toEqual(['full', 'full', 'full']);
    expect(runs[0]?.triggerData).toMatchObject({ id: mail.boss, textBody: 'Hello', attachments: [] });
  });

  it('starts no second run for a mail read twice', async () => {
    subscribe(1, {});

    expect((await read()).runsStarted).toBe(3);
    expect((await read()).runsStarted).toBe(0);
    expect(runsOf(1)).toEqual([mail.boss, mail.other, mail.self]);
  });

  it('skips a mail deleted since it was announced', async () => {
    subscribe(1, {});
    gmail.deleteMessage(ADDRESS, mail.other);

    const result = await read();

    expect(runsOf(1)).toEqual([mail.boss, mail.self]);
    expect(callsOf('messages.get').map((call) => call.status)).toEqual([200, 404, 200]);
    expect(result.cursor).toBe(gmail.historyId(ADDRESS).toString());
  });

  it('advances the cursor without fetching mail when no workflow reads the mailbox', async () => {
    const result = await read();

    expect(result).toMatchObject({ cursor: gmail.historyId(ADDRESS).toString(), runsStarted: 0 });
    expect(callsOf('messages.get')).toEqual([]);
    expect(records.get(CREDENTIAL_ID)?.cursor).toBe(gmail.historyId(ADDRESS).toString());
  });

  it('ignores a workflow whose stored trigger config no longer parses', async () => {
    subscribe(1, { from: 42 });
    subscribe(2, { subjectContains: 'sale' });

    await read();

    expect(runsOf(1)).toEqual([]);
    expect(runsOf(2)).toEqual([mail.other]);
  });

  describe('label filters', () => {
    it('match system label ids and user label ids without listing the labels', async () => {
      subscribe(1, { label: 'CATEGORY_UPDATES' });
      subscribe(2, { label: acmeLabel });

      await read();

      expect(runsOf(1)).toEqual([mail.other]);
      expect(runsOf(2)).toEqual([mail.boss]);
      expect(callsOf('labels.list')).toEqual([]);
    });

    it('resolve a user label’s name through the label list, ignoring case', async () => {
      subscribe(1, { label: 'clients/acme' });

      await read();

      expect(runsOf(1)).toEqual([mail.boss]);
      expect(callsOf('labels.list')).toHaveLength(1);
    });

    it('resolve a user label whose name looks like a system label id', async () => {
      subscribe(1, { label: 'VIP' });

      await read();

      expect(runsOf(1)).toEqual([mail.boss]);
    });
  });

  it('resyncs by date from shortly before the cursor’s time when the cursor has expired', async () => {
    subscribe(1, {});
    gmail.expireHistoryBefore(ADDRESS, gmail.historyId(ADDRESS));
    // Whole seconds, so that the search's `after:` is exact.
    const cursorTime = Math.floor(Date.now() / 1000) * 1000 - 60_000;

    const result = await activities().gmailProcessHistory({
      credentialId: CREDENTIAL_ID,
      cursor: '4000',
      cursorTime,
    });

    expect(result).toMatchObject({
      cursor: gmail.historyId(ADDRESS).toString(),
      resynced: true,
      messagesSeen: 5,
      runsStarted: 3,
    });
    // Ten minutes of margin, in seconds.
    expect(callsOf('messages.list')[0]?.query.get('q')).toBe(`after:${(cursorTime - 600_000) / 1000}`);
    // Labels are known only after the get: the draft and the sent mail are fetched, then dropped.
    expect(callsOf('messages.get')).toHaveLength(5);
    expect(new Set(runsOf(1))).toEqual(new Set([mail.boss, mail.other, mail.self]));
    expect(records.get(CREDENTIAL_ID)?.cursor).toBe(gmail.historyId(ADDRESS).toString());
  });

  it('calls the mailbox unusable when Gmail refuses the credential, also after a renewal', async () => {
    subscribe(1, {});
    gmail.failNext('history.list', 401, 2, { reason: 'authError' });

    await expect(read()).rejects.toMatchObject({ type: 'MailboxUnusable', nonRetryable: true });
    expect(renewals).toBe(1);
    expect(records.get(CREDENTIAL_ID)?.cursor).toBe('4000');
  });

  it('renews a token Gmail dropped before its expiry once, and reads on', async () => {
    subscribe(1, {});
    gmail.failNext('history.list', 401, 1, { reason: 'authError' });

    await read();

    expect(renewals).toBe(1);
    expect(new Set(runs.map((run) => run.eventId))).toEqual(new Set([mail.boss, mail.other, mail.self]));
    expect(records.get(CREDENTIAL_ID)?.cursor).toBe(gmail.historyId(ADDRESS).toString());
  });

  it('calls the mailbox unusable when the renewal after a 401 is refused (invalid_grant)', async () => {
    subscribe(1, {});
    gmail.failNext('history.list', 401, 1, { reason: 'authError' });
    renewalFailure = new Error('credential 7 needs reconnecting: invalid_grant');

    await expect(read()).rejects.toMatchObject({
      type: 'MailboxUnusable',
      nonRetryable: true,
      message: 'credential 7 needs reconnecting: invalid_grant',
    });
    expect(records.get(CREDENTIAL_ID)?.cursor).toBe('4000');
  });

  it('skips a mail whose run can never start, moves the cursor on and serves the mails after it', async () => {
    subscribe(1, {});
    const [subscriber] = subscribers;
    if (!subscriber) throw new Error('no subscriber');
    const start = subscriber.startRun;
    subscriber.startRun = async (eventId, triggerData) => {
      if (eventId === mail.boss)
        throw ApplicationFailure.create({
          message: 'Blob data size exceeds limit',
          type: 'RunNotStartable',
          nonRetryable: true,
        });
      return start(eventId, triggerData);
    };

    const result = await read();

    expect(runsOf(1)).toEqual([mail.other, mail.self]);
    expect(result).toMatchObject({ runsStarted: 2, runsRefused: 1 });
    expect(records.get(CREDENTIAL_ID)?.cursor).toBe(result.cursor);
    expect(result.cursor).not.toBe('4000');
  });

  it('leaves a run that may start later (Temporal unavailable) to retries, without moving the cursor', async () => {
    subscribe(1, {});
    const [subscriber] = subscribers;
    if (!subscriber) throw new Error('no subscriber');
    subscriber.startRun = async () => {
      throw new Error('14 UNAVAILABLE: connection refused');
    };

    await expect(read()).rejects.toThrow('UNAVAILABLE');
    expect(records.get(CREDENTIAL_ID)?.cursor).toBe('4000');
  });

  it('leaves an outage while reading mail to retries, without moving the cursor', async () => {
    subscribe(1, {});
    gmail.failNext('messages.get', 500, 1, { reason: 'backendError' });

    await expect(read()).rejects.toMatchObject({ type: 'GmailUnavailable', nonRetryable: false });
    expect(records.get(CREDENTIAL_ID)?.cursor).toBe('4000');
    expect(runs).toEqual([]);
  });
});
