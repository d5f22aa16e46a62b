// The credential service against the real Postgres (row locks) and the fake OAuth server (refresh grants).
import { createHash, randomBytes } from 'node:crypto';
import { generateKey, Keyring } from '@autoflow/crypto';
import { credentials, createDatabase as openDatabase, runMigrations, users } from '@autoflow/db';
import { FakeOAuthServer } from '@autoflow/fakes';
import { createDatabase, dropDatabase } from '@autoflow/local-stack';
import { TokenRejectedError } from '@autoflow/provider-registry';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { CredentialNeedsReconnectError, CredentialService, secretLocation } from '../src/index.js';

const DATABASE = 'oauth_credential_service_test';
const API = 'https://api.provider.test/v1/things';
const google = new FakeOAuthServer();
const keyring = Keyring.fromEnv(`k1:${generateKey()}`, undefined);
let database: ReturnType<typeof openDatabase>;
let service: CredentialService;
let userId: number;
/** What the service reported, as the app's metrics would count it. */
const reported = { refreshes: [] as string[], needsReconnect: [] as string[] };

beforeAll(async () => {
  const url = await createDatabase(inject('databaseUrl'), DATABASE);
  await runMigrations(url);
  database = openDatabase(url, { maxConnections: 25 });
  await google.start();
  google.registerClient('platform-app', 'platform-app-secret');
  service = new CredentialService({
    db: database.db,
    keyring,
    oauth: new Map([
      [
        'gmail',
        {
          authorizeUrl: google.url('/authorize'),
          tokenUrl: google.url('/token'),
          revokeUrl: undefined,
          scopes: [],
          authorizeParams: {},
          platformClient: { clientId: 'platform-app', clientSecret: 'platform-app-secret' },
          identity: undefined,
        },
      ],
    ]),
    allowHttpEndpoints: true,
    credentialHosts: new Map([['gmail', new Set(['api.provider.test'])]]),
    metrics: {
      tokenRefreshed: (provider, outcome) => reported.refreshes.push(`${provider}:${outcome}`),
      markedNeedsReconnect: (provider) => reported.needsReconnect.push(provider),
    },
  });
  const [user] = await database.db
    .insert(users)
    .values({ email: 'owner@example.com', passwordHash: 'unused' })
    .returning();
  if (!user) throw new Error('no user');
  userId = user.id;
});

afterAll(async () => {
  await database?.close();
  await google.stop();
  await dropDatabase(inject('databaseUrl'), DATABASE);
});

beforeEach(() => {
  google.behaviour.rotateRefreshTokens = false;
  reported.refreshes.length = 0;
  reported.needsReconnect.length = 0;
});

/** A token pair from the fake, by its code flow (PKCE), stored as a connected credential valid for an hour. */
async function connected(options: { withRefreshToken?: boolean } = {}) {
  const verifier = randomBytes(32).toString('base64url');
  const authorize = new URL(google.url('/authorize'));
  authorize.search = new URLSearchParams({
    client_id: 'platform-app',
    redirect_uri: 'http://app.test/callback',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    state: 'state',
  }).toString();
  const consent = await fetch(authorize, { redirect: 'manual' });
  const code = new URL(consent.headers.get('location') ?? '').searchParams.get('code') ?? '';
  const answer = await fetch(google.url('/token'), {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: 'http://app.test/callback',
      client_id: 'platform-app',
      client_secret: 'platform-app-secret',
    }),
  });
  expect(answer.status).toBe(200);
  const issued = google.issuedTokens.at(-1);
  if (!issued?.refreshToken) throw new Error('the fake issued no refresh token');
  const tokens = { access_token: issued.accessToken, refresh_token: issued.refreshToken };
  const [row] = await database.db
    .insert(credentials)
    .values({
      userId,
      serviceProvider: 'gmail',
      credentialType: 'oauth2',
      name: `mail ${randomBytes(4).toString('hex')}`,
    })
    .returning();
  if (!row) throw new Error('no credential');
  await database.db
    .update(credentials)
    .set({
      accessToken: keyring.encrypt(tokens.access_token, secretLocation('access_token', row.id)),
      refreshToken:
        options.withRefreshToken === false
          ? null
          : keyring.encrypt(tokens.refresh_token, secretLocation('refresh_token', row.id)),
      expiresAt: new Date(Date.now() + 3_600_000),
      isValid: true,
    })
    .where(eq(credentials.id, row.id));
  return { id: row.id, accessToken: tokens.access_token, refreshToken: tokens.refresh_token };
}

/** The provider's API: 401 (TokenRejectedError) for a token the OAuth server no longer honours. */
function providerCall(seen: string[]) {
  return async (token: string) => {
    seen.push(token);
    if (!google.isAccessToken(token)) throw new TokenRejectedError('HTTP 401 from api.provider.test');
    return 'answered';
  };
}

async function isValid(credentialId: number): Promise<boolean | undefined> {
  const [row] = await database.db.select().from(credentials).where(eq(credentials.id, credentialId));
  return row?.isValid;
}

describe('a token the provider invalidated before its stored expiry', () => {
  it('is renewed once and the call made once more, with the new token', async () => {
    const credential = await connected();
    google.invalidateAccessToken(credential.accessToken);
    const refreshesBefore = google.refreshCount;
    const seen: string[] = [];

    await expect(
      service.withAccessTokenFor(credential.id, API, { userId }, providerCall(seen)),
    ).resolves.toBe('answered');
    expect(google.refreshCount - refreshesBefore).toBe(1);
    expect(seen).toHaveLength(2);
    expect(seen[0]).toBe(credential.accessToken);
    expect(seen[1]).not.toBe(credential.accessToken);

    // The renewed token was stored: the next call uses it without a refresh.
    const next: string[] = [];
    await service.withAccessTokenFor(credential.id, API, { userId }, providerCall(next));
    expect(next).toEqual([seen[1]]);
    expect(google.refreshCount - refreshesBefore).toBe(1);
    expect(reported).toEqual({ refreshes: ['gmail:success'], needsReconnect: [] });
  });

  it('causes one refresh for 20 concurrent callers, also with rotating refresh tokens', async () => {
    for (const rotate of [false, true]) {
      google.behaviour.rotateRefreshTokens = rotate;
      const credential = await connected();
      google.invalidateAccessToken(credential.accessToken);
      const refreshesBefore = google.refreshCount;
      const seen: string[] = [];

      const answers = await Promise.all(
        Array.from({ length: 20 }, () =>
          service.withAccessTokenFor(credential.id, API, { userId }, providerCall(seen)),
        ),
      );

      expect(answers).toEqual(Array(20).fill('answered'));
      expect(google.refreshCount - refreshesBefore).toBe(1);
      expect(new Set(seen.filter((token) => token !== credential.accessToken)).size).toBe(1);
      expect(await isValid(credential.id)).toBe(true);
    }
  });

  it('passes a second refusal, after the renewal, on to the caller without refreshing again', async () => {
    const credential = await connected();
    const refreshesBefore = google.refreshCount;
    let calls = 0;

    const attempt = service.withAccessTokenFor(credential.id, API, { userId }, async () => {
      calls++;
      throw new TokenRejectedError('HTTP 401 from api.provider.test');
    });

    await expect(attempt).rejects.toBeInstanceOf(TokenRejectedError);
    expect(calls).toBe(2);
    expect(google.refreshCount - refreshesBefore).toBe(1);
    expect(await isValid(credential.id)).toBe(true);
  });

  it('marks the credential needs_reconnect when the refresh token was revoked too (invalid_grant)', async () => {
    const credential = await connected();
    google.invalidateAccessToken(credential.accessToken);
    google.revokeRefreshToken(credential.refreshToken);

    const attempt = service.withAccessTokenFor(credential.id, API, { userId }, providerCall([]));

    await expect(attempt).rejects.toBeInstanceOf(CredentialNeedsReconnectError);
    await expect(attempt).rejects.toThrow(/invalid_grant/);
    expect(await isValid(credential.id)).toBe(false);
    expect(reported).toEqual({ refreshes: ['gmail:refused'], needsReconnect: ['gmail'] });

    // Asked again: refused before any refresh, and no second transition.
    await expect(
      service.withAccessTokenFor(credential.id, API, { userId }, providerCall([])),
    ).rejects.toBeInstanceOf(CredentialNeedsReconnectError);
    expect(reported).toEqual({ refreshes: ['gmail:refused'], needsReconnect: ['gmail'] });
  });

  it('marks a credential without refresh token needs_reconnect', async () => {
    const credential = await connected({ withRefreshToken: false });
    google.invalidateAccessToken(credential.accessToken);
    const refreshesBefore = google.refreshCount;

    await expect(service.withAccessToken(credential.id, userId, providerCall([]))).rejects.toBeInstanceOf(
      CredentialNeedsReconnectError,
    );
    expect(google.refreshCount - refreshesBefore).toBe(0);
    expect(await isValid(credential.id)).toBe(false);
    expect(reported).toEqual({ refreshes: [], needsReconnect: ['gmail'] });
  });

  it('refreshes nothing for any other failure of the call', async () => {
    const credential = await connected();
    const refreshesBefore = google.refreshCount;

    const attempt = service.withAccessTokenFor(credential.id, API, { userId }, async () => {
      throw new Error('HTTP 500');
    });

    await expect(attempt).rejects.toThrow('HTTP 500');
    expect(google.refreshCount - refreshesBefore).toBe(0);
  });

  it('checks the host before handing out or renewing anything', async () => {
    const credential = await connected();
    let calls = 0;

    const attempt = service.withAccessTokenFor(
      credential.id,
      'https://elsewhere.test/',
      { userId },
      async () => {
        calls++;
      },
    );

    await expect(attempt).rejects.toThrow(/elsewhere\.test/);
    expect(calls).toBe(0);
  });
});
