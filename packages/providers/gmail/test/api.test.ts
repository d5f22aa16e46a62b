// Gmail failures as the real client raises them (from the shared fake Gmail API), classified for actions.
import { FakeGmail, type InjectedFailure } from '@autoflow/fakes';
import { PermanentActionError, RetryableActionError } from '@autoflow/provider-registry';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { describeGmailFailure, gmailClient, isNotFound, toActionError } from '../src/api.js';

const ADDRESS = 'me@gmail.com';
const TOKEN = 'token';

let gmail: FakeGmail;

beforeEach(async () => {
  // A fresh fake per test: no call or injected failure carries over.
  gmail = new FakeGmail();
  gmail.addMailbox(ADDRESS);
  gmail.grant(TOKEN, ADDRESS);
  await gmail.start();
});
afterEach(() => gmail.stop());

/** The error the client throws when Gmail answers the profile call with this failure. */
async function profileFailure({
  status,
  ...failure
}: { status: number } & InjectedFailure): Promise<unknown> {
  gmail.failNext('getProfile', status, 1, failure);
  return gmailClient(TOKEN, gmail.rootUrl)
    .users.getProfile({ userId: 'me' })
    .then(
      () => new Error('Gmail answered 200'),
      (error: unknown) => error,
    );
}

describe('gmailClient', () => {
  it('sends the access token to the root URL it is given, with or without a trailing slash', async () => {
    const profile = await gmailClient(TOKEN, gmail.rootUrl.replace(/\/$/, '')).users.getProfile({
      userId: 'me',
    });

    expect(profile.data.emailAddress).toBe(ADDRESS);
    expect(gmail.callCount('getProfile')).toBe(1);
  });

  it('does not retry by itself: Temporal owns retries', async () => {
    await profileFailure({ status: 503, reason: 'backendError' });

    expect(gmail.callCount('getProfile')).toBe(1);
  });

  it('reports the quota units of every call Google charges, as Google meters them', async () => {
    const reported: { method: string; units: number }[] = [];
    const usage = { quotaSpent: (method: string, units: number) => reported.push({ method, units }) };
    const client = gmailClient(TOKEN, gmail.rootUrl, usage);
    const mail = gmail.deliver(ADDRESS, { from: 'a@example.com', to: ADDRESS, subject: 'hi', text: 'hello' });

    await client.users.getProfile({ userId: 'me' });
    await client.users.messages.list({ userId: 'me' });
    await client.users.messages.get({ userId: 'me', id: mail.id });
    await client.users.history.list({ userId: 'me', startHistoryId: String(mail.historyId - 1n) });
    await client.users.labels.list({ userId: 'me' });
    await client.users.watch({ userId: 'me', requestBody: { topicName: 'projects/p/topics/t' } });
    await client.users.stop({ userId: 'me' });
    await client.users.messages.send({ userId: 'me', requestBody: { raw: 'VG86IGJAZXhhbXBsZS5jb20KCmhp' } });
    // A refusal is charged too; a caller Google cannot identify is not.
    gmail.failNext('messages.get', 429, 1, { reason: 'rateLimitExceeded' });
    await client.users.messages.get({ userId: 'me', id: mail.id }).catch(() => undefined);
    await gmailClient('unknown-token', gmail.rootUrl, usage)
      .users.getProfile({ userId: 'me' })
      .catch(() => undefined);

    expect(reported.map(({ method }) => method)).toEqual([
      'getProfile',
      'messages.list',
      'messages.get',
      'history.list',
      'labels.list',
      'watch',
      'stop',
      'messages.send',
      'messages.get',
    ]);
    expect(reported.reduce((sum, { units }) => sum + units, 0)).toBe(gmail.unitsSpent(ADDRESS));
    expect(gmail.unitsSpent(ADDRESS)).toBe(1 + 5 + 5 + 2 + 1 + 100 + 50 + 100 + 5);
  });
});

describe('describeGmailFailure', () => {
  it('reads the status, Google’s reason and message, and Retry-After in milliseconds', async () => {
    const failure = describeGmailFailure(
      await profileFailure({
        status: 429,
        reason: 'rateLimitExceeded',
        message: 'Slow down',
        retryAfterSeconds: 3,
      }),
    );

    expect(failure).toEqual({
      status: 429,
      reason: 'rateLimitExceeded',
      message: 'Slow down',
      retryAfterMs: 3000,
    });
  });

  it('describes an error without a response by its message alone', () => {
    expect(describeGmailFailure(new Error('socket hang up'))).toEqual({
      status: undefined,
      reason: undefined,
      message: 'socket hang up',
      retryAfterMs: undefined,
    });
  });
});

describe('toActionError', () => {
  it.each([
    [{ status: 429, reason: 'rateLimitExceeded' }],
    [{ status: 403, reason: 'userRateLimitExceeded' }],
    [{ status: 403, reason: 'quotaExceeded' }],
    [{ status: 500, reason: 'backendError' }],
    [{ status: 503, reason: 'backendError' }],
    [{ status: 408, reason: 'timeout' }],
  ])('retries %o', async (failure) => {
    expect(toActionError(await profileFailure(failure), 'reading mail')).toBeInstanceOf(RetryableActionError);
  });

  it.each([
    [{ status: 400, reason: 'invalidArgument' }],
    [{ status: 401, reason: 'authError' }],
    [{ status: 403, reason: 'insufficientPermissions' }],
    [{ status: 404, reason: 'notFound' }],
  ])('gives up on %o', async (failure) => {
    expect(toActionError(await profileFailure(failure), 'reading mail')).toBeInstanceOf(PermanentActionError);
  });

  it('passes Gmail’s Retry-After on, and says what failed', async () => {
    const error = toActionError(
      await profileFailure({
        status: 429,
        reason: 'rateLimitExceeded',
        message: 'Slow down',
        retryAfterSeconds: 12,
      }),
      'sending the mail',
    );

    expect(error).toBeInstanceOf(RetryableActionError);
    expect(error).toMatchObject({
      retryAfterMs: 12_000,
      message: 'sending the mail: Gmail answered 429 (rateLimitExceeded): Slow down',
    });
  });

  it('retries when Gmail cannot be reached at all', async () => {
    const unreachable = await gmailClient('token', 'http://127.0.0.1:1/')
      .users.getProfile({ userId: 'me' })
      .then(
        () => new Error('Gmail answered 200'),
        (error: unknown) => error,
      );

    expect(toActionError(unreachable, 'reading mail')).toBeInstanceOf(RetryableActionError);
  });
});

describe('isNotFound', () => {
  it('is true for a 404 only', async () => {
    expect(isNotFound(await profileFailure({ status: 404, reason: 'notFound' }))).toBe(true);
    expect(isNotFound(await profileFailure({ status: 410, reason: 'gone' }))).toBe(false);
    expect(isNotFound(new Error('Not Found'))).toBe(false);
  });
});
