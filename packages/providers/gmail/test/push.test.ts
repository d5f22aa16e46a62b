import { createServer, type Server } from 'node:http';
import { type CryptoKey, exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPushVerifier, decodeGmailPush, PushRejected } from '../src/push.js';

/** A Pub/Sub push body around Gmail's notification JSON text (written by hand, so numbers stay exact). */
function pushBody(notificationJson: string): string {
  return JSON.stringify({
    message: {
      data: Buffer.from(notificationJson).toString('base64'),
      messageId: '2070443601311540',
      publishTime: '2025-11-29T09:30:00.000Z',
    },
    subscription: 'projects/autoflow/subscriptions/gmail-push',
  });
}

describe('decodeGmailPush', () => {
  it('reads a notification whose historyId is a JSON string', () => {
    expect(decodeGmailPush(pushBody('{"emailAddress":"me@gmail.com","historyId":"9876543210"}'))).toEqual({
      emailAddress: 'me@gmail.com',
      historyId: '9876543210',
    });
  });

  it('keeps every digit of a historyId above 2^53 sent as a JSON number', () => {
    // 2^53 + 1 has no double: JSON.parse alone would give ...992.
    const notification = decodeGmailPush(
      pushBody('{"emailAddress":"me@gmail.com","historyId":9007199254740993}'),
    );
    expect(notification?.historyId).toBe('9007199254740993');

    const huge = decodeGmailPush(
      pushBody('{"emailAddress":"me@gmail.com","historyId":123456789012345678901}'),
    );
    expect(huge?.historyId).toBe('123456789012345678901');
  });

  it('keeps every digit of a historyId above 2^53 sent as a JSON string', () => {
    const notification = decodeGmailPush(
      pushBody('{"emailAddress":"me@gmail.com","historyId":"9007199254740993"}'),
    );
    expect(notification?.historyId).toBe('9007199254740993');
  });

  it.each([
    ['an empty body', ''],
    ['a body that is not JSON', '{"message":'],
    ['JSON that is not an envelope', '[1,2,3]'],
    ['an envelope without message', JSON.stringify({ subscription: 'projects/p/subscriptions/s' })],
    ['an envelope with empty data', JSON.stringify({ message: { data: '' } })],
    ['data that is not base64 of JSON', JSON.stringify({ message: { data: '%%%not base64%%%' } })],
    [
      'data that decodes to non-JSON',
      JSON.stringify({ message: { data: Buffer.from('hello').toString('base64') } }),
    ],
    ['a notification without historyId', pushBody('{"emailAddress":"me@gmail.com"}')],
    ['a notification without emailAddress', pushBody('{"historyId":"12345"}')],
    ['an emailAddress that is no address', pushBody('{"emailAddress":"me","historyId":"12345"}')],
    ['a negative historyId', pushBody('{"emailAddress":"me@gmail.com","historyId":-5}')],
    ['a fractional historyId', pushBody('{"emailAddress":"me@gmail.com","historyId":12.5}')],
    ['a historyId in exponent notation', pushBody('{"emailAddress":"me@gmail.com","historyId":1e21}')],
    ['a historyId that is not digits', pushBody('{"emailAddress":"me@gmail.com","historyId":"12a"}')],
    [
      'a historyId of more than 40 digits',
      pushBody(`{"emailAddress":"me@gmail.com","historyId":"${'9'.repeat(41)}"}`),
    ],
  ])('returns undefined for %s', (_case, body) => {
    expect(decodeGmailPush(body)).toBeUndefined();
  });
});

function portOf(server: Server): number {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the server listens on no TCP port');
  return address.port;
}

const AUDIENCE = 'https://ingest.autoflow.example/pubsub/gmail';
const SERVICE_ACCOUNT = 'gmail-push@autoflow-prod.iam.gserviceaccount.com';
const KEY_ID = 'test-key-1';

describe('createPushVerifier', () => {
  let jwksServer: Server;
  let jwksUrl: string;
  let googleKey: CryptoKey;
  let forgerKey: CryptoKey;

  beforeAll(async () => {
    const google = await generateKeyPair('RS256', { extractable: true });
    googleKey = google.privateKey;
    forgerKey = (await generateKeyPair('RS256')).privateKey;
    const publicJwk = { ...(await exportJWK(google.publicKey)), kid: KEY_ID, alg: 'RS256', use: 'sig' };
    const jwks = JSON.stringify({ keys: [publicJwk] });
    jwksServer = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' }).end(jwks);
    });
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${portOf(jwksServer)}/oauth2/v3/certs`;
  });

  afterAll(async () => {
    await new Promise((resolve) => jwksServer.close(resolve));
  });

  const verifier = () => createPushVerifier({ audience: AUDIENCE, serviceAccount: SERVICE_ACCOUNT, jwksUrl });

  /** A token shaped like the one Pub/Sub sends, with any claim overridden. */
  async function pushToken(
    overrides: {
      claims?: JWTPayload;
      issuer?: string;
      audience?: string;
      expiresAt?: number;
      key?: CryptoKey;
    } = {},
  ): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ email: SERVICE_ACCOUNT, email_verified: true, ...overrides.claims })
      .setProtectedHeader({ alg: 'RS256', kid: KEY_ID, typ: 'JWT' })
      .setIssuer(overrides.issuer ?? 'https://accounts.google.com')
      .setAudience(overrides.audience ?? AUDIENCE)
      .setSubject('112233445566778899000')
      .setIssuedAt(now - 60)
      .setExpirationTime(overrides.expiresAt ?? now + 3600)
      .sign(overrides.key ?? googleKey);
  }

  it('accepts a token signed by the JWK Set key, for our audience and service account', async () => {
    await expect(verifier()(`Bearer ${await pushToken()}`)).resolves.toBeUndefined();
  });

  it('accepts both issuer spellings Google uses, and the account in any case', async () => {
    const verify = verifier();
    await expect(
      verify(`Bearer ${await pushToken({ issuer: 'accounts.google.com' })}`),
    ).resolves.toBeUndefined();
    const upperCaseAccount = await pushToken({ claims: { email: SERVICE_ACCOUNT.toUpperCase() } });
    await expect(verify(`Bearer ${upperCaseAccount}`)).resolves.toBeUndefined();
  });

  it.each([
    ['a forged signature', () => pushToken({ key: forgerKey }), /ERR_JWS_SIGNATURE_VERIFICATION_FAILED/],
    [
      'another audience',
      () => pushToken({ audience: 'https://other.example/push' }),
      /ERR_JWT_CLAIM_VALIDATION_FAILED/,
    ],
    // Beyond the 30 s clock tolerance.
    [
      'an expired token',
      () => pushToken({ expiresAt: Math.floor(Date.now() / 1000) - 120 }),
      /ERR_JWT_EXPIRED/,
    ],
    [
      'another issuer',
      () => pushToken({ issuer: 'https://evil.example' }),
      /ERR_JWT_CLAIM_VALIDATION_FAILED/,
    ],
    [
      'another service account',
      () => pushToken({ claims: { email: 'attacker@evil-project.iam.gserviceaccount.com' } }),
      /not from the push service account/,
    ],
    ['an unverified email', () => pushToken({ claims: { email_verified: false } }), /no verified email/],
    ['a token without email', () => pushToken({ claims: { email: undefined } }), /no verified email/],
  ])('rejects %s', async (_case, makeToken, reason) => {
    const rejection = verifier()(`Bearer ${await makeToken()}`);
    await expect(rejection).rejects.toBeInstanceOf(PushRejected);
    await expect(rejection).rejects.toThrow(reason);
  });

  it('rejects a token whose payload was altered after signing', async () => {
    const [header, , signature] = (await pushToken()).split('.');
    const altered = Buffer.from(
      JSON.stringify({
        email: SERVICE_ACCOUNT,
        email_verified: true,
        aud: AUDIENCE,
        iss: 'accounts.google.com',
      }),
    ).toString('base64url');
    await expect(verifier()(`Bearer ${header}.${altered}.${signature}`)).rejects.toBeInstanceOf(PushRejected);
  });

  it.each([
    ['no Authorization header', undefined],
    ['an empty header', ''],
    ['another scheme', 'Basic Z21haWw6cHVzaA=='],
    ['a bearer without token', 'Bearer '],
    ['a token that is not a JWS', 'Bearer not-a-token'],
    ['garbage in JWS shape', 'Bearer aaa.bbb.ccc'],
    ['an unsigned token', `Bearer ${Buffer.from('{"alg":"none"}').toString('base64url')}.e30.`],
  ])('rejects %s', async (_case, authorization) => {
    await expect(verifier()(authorization)).rejects.toBeInstanceOf(PushRejected);
  });

  it('lets an unreachable JWK Set through as an ordinary error, so the push is redelivered', async () => {
    const unreachable = createPushVerifier({
      audience: AUDIENCE,
      serviceAccount: SERVICE_ACCOUNT,
      jwksUrl: 'http://127.0.0.1:1/certs',
    });
    const attempt = unreachable(`Bearer ${await pushToken()}`);
    await expect(attempt).rejects.toThrow();
    await expect(attempt).rejects.not.toBeInstanceOf(PushRejected);
  });
});
