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
