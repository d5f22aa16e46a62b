import { createHash } from 'node:crypto';
import type { operations } from '@autoflow/client';
import { FakeOAuthServer } from '@autoflow/fakes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerOf, field, http, oauthCallback, System } from '../src/system.js';

// Issue 12, part 1 (RFC 9700 §4.7, the "connect CSRF"): the callback no longer completes a flow. It
// parks the code and sends the browser to the frontend with a one-time handle; only the user who
// started the flow can complete it, with its bearer token.

const FRONTEND = 'http://frontend.test';
const DEFAULT_LANDING = `${FRONTEND}/connections`;
const google = new FakeOAuthServer();
let system: System;
/** Every handle this file saw: none may reach a log line. */
const handles: string[] = [];

beforeAll(async () => {
  await google.start();
  google.registerClient('user-app', 'user-app-secret-value');
  system = new System({
    allowedHosts: [],
    env: {
      ...google.appEnv(FRONTEND),
      OAUTH_DEFAULT_REDIRECT_URL: DEFAULT_LANDING,
      OAUTH_RATE_LIMIT_PER_MINUTE: '1000',
    },
  });
  await system.start();
});

afterAll(async () => {
  await system?.stop();
  await google.stop();
});

const oauthUrl = (path: string) => system.url('oauth-service', path);
const oauthClient = (token?: string) => system.client(token, 'oauth-service');

async function storeApp(token: string, name: string): Promise<number> {
  const stored = await oauthClient(token).POST('/api/oauth2-credential/store', {
    body: { provider: 'gmail', clientId: 'user-app', clientSecret: 'user-app-secret-value', name },
  });
  expect(stored.response.status).toBe(201);
  return Number(stored.data?.credentialId);
}

async function begin(token: string, query: operations['beginOAuth']['parameters']['query']): Promise<string> {
  const { data, error, response } = await oauthClient(token).GET('/api/oauth2-credential/auth', {
    params: { query },
    headers: { accept: 'application/json' },
  });
  expect(response.status, JSON.stringify(error)).toBe(200);
  return String(data?.authorizationUrl);
}

/** A browser: consents at the provider, follows it to our callback, answers where the callback sends it. */
async function browserConsents(authorizationUrl: string): Promise<{ code: string; landing: URL }> {
  const atProvider = await fetch(authorizationUrl, { redirect: 'manual' });
  expect(atProvider.status).toBe(302);
  const callbackUrl = new URL(atProvider.headers.get('location') ?? '');
  const { response: callback } = await oauthCallback(callbackUrl.href);
  expect(callback.headers.get('referrer-policy')).toBe('no-referrer');
  const location = callback.headers.get('location');
  expect(callback.status, `callback answered ${callback.status} without a redirect`).toBe(302);
  const landing = new URL(location ?? '');
  const handle = landing.searchParams.get('handle');
  if (handle) handles.push(handle);
  return { code: callbackUrl.searchParams.get('code') ?? '', landing };
}

/** The frontend, signed in as `token`, completes the flow it landed on. */
function complete(token: string | undefined, handle: string) {
  return answerOf(oauthClient(token).POST('/api/oauth2-credential/complete', { body: { handle } }));
}

function codeRedemptions(code: string): number {
  return google.tokenRequests.filter(
    (form) => form.get('grant_type') === 'authorization_code' && form.get('code') === code,
  ).length;
}

async function credentialsOf(token: string): Promise<unknown[]> {
  return (await system.client(token).GET('/api/credentials')).data?.items ?? [];
}

describe('the connect CSRF (RFC 9700 §4.7)', () => {
  it("stores nothing when a flow user A started is followed in user B's browser session", async () => {
    const attacker = await system.signUp('attacker@example.com');
    const victim = await system.signUp('victim@example.com');
    // A starts a flow on an app credential of its own and on the platform app, and sends both
    // authorization URLs to B.
    const attackerCredential = await storeApp(attacker.token, 'to fill with the victim mailbox');
    const flows = [
      await begin(attacker.token, {
        provider: 'gmail',
        credentialId: attackerCredential,
        redirectUrl: `${FRONTEND}/done`,
      }),
      await begin(attacker.token, { provider: 'gmail', name: 'victim mailbox' }),
    ];
    const credentialIds = async () =>
      (await system.sql`select id from credentials order by id`).map((row) => row.id);
    const credentialsBefore = await credentialIds();

    for (const authorizationUrl of flows) {
      // B consents on the provider's real page and lands on our callback, then on the frontend,
      // which is signed in as B and completes what it landed on.
      const { code, landing } = await browserConsents(authorizationUrl);
      expect(codeRedemptions(code), 'the callback redeemed the code for A').toBe(0);
      expect(landing.searchParams.get('status')).toBe('pending');
      const handle = landing.searchParams.get('handle') ?? '';
      const refused = await complete(victim.token, handle);
      expect(refused.status).toBe(403);
      expect(refused.contentType).toContain('application/problem+json');
      expect(field(refused.body, 'code')).toBe('flow_started_by_another_user');

      // The provider's code was never redeemed, for anyone.
      expect(codeRedemptions(code)).toBe(0);
      // The parked code is gone: A cannot complete with the handle either.
      const late = await complete(attacker.token, handle);
      expect(late.status).toBe(404);
      expect(field(late.body, 'code')).toBe('handle_invalid');
      expect(codeRedemptions(code)).toBe(0);
    }

    // No credential gained tokens, and none was created.
    expect(await system.sql`select id from credentials where access_token is not null`).toHaveLength(0);
    expect(await credentialIds()).toEqual(credentialsBefore);
    expect(await credentialsOf(victim.token)).toEqual([]);
    const attackerCredentials = await credentialsOf(attacker.token);
    expect(attackerCredentials.map((credential) => field(credential, 'status'))).toEqual(['needs_reconnect']);
    expect(await system.sql`select state_hash from oauth_states`).toHaveLength(0);
  });

  it('runs the normal flow end to end for the user who started it', async () => {
    const owner = await system.signUp();
    const credentialId = await storeApp(owner.token, 'mine');
    const { code, landing } = await browserConsents(
      await begin(owner.token, {
        provider: 'gmail',
        credentialId,
        redirectUrl: `${FRONTEND}/done?tab=accounts`,
      }),
    );
    expect(`${landing.origin}${landing.pathname}`).toBe(`${FRONTEND}/done`);
    expect(landing.searchParams.get('tab')).toBe('accounts');
    expect(landing.searchParams.get('status')).toBe('pending');
    const handle = landing.searchParams.get('handle') ?? '';
    expect(handle.length).toBeGreaterThanOrEqual(43);
    // Parked, not redeemed: only the hash of the handle and the sealed code are stored.
    expect(codeRedemptions(code)).toBe(0);
    const [parked] = await system.sql`select handle_hash, code from oauth_states`;
    expect(String(parked?.handle_hash)).not.toContain(handle);
    expect(String(parked?.code)).toMatch(/^v1:/);
    expect(String(parked?.code)).not.toContain(code);

    // The frontend must send the bearer token.
    expect((await complete(undefined, handle)).status).toBe(401);
    const completed = await complete(owner.token, handle);
    expect(completed.status, JSON.stringify(completed.body)).toBe(200);
    expect(completed.body).toEqual({ credentialId });
    expect(codeRedemptions(code)).toBe(1);
    const [listed] = await credentialsOf(owner.token);
    expect(field(listed, 'id')).toBe(credentialId);
    expect(field(listed, 'status')).toBe('valid');

    // Single use.
    const again = await complete(owner.token, handle);
    expect(again.status).toBe(404);
    expect(field(again.body, 'code')).toBe('handle_invalid');
    expect(codeRedemptions(code)).toBe(1);
  });

  it('sends a flow without a redirectUrl to the default frontend URL', async () => {
    const owner = await system.signUp();
    const { landing } = await browserConsents(
      await begin(owner.token, { provider: 'gmail', name: 'default' }),
    );
    expect(`${landing.origin}${landing.pathname}`).toBe(DEFAULT_LANDING);
    expect(landing.searchParams.get('status')).toBe('pending');
    const completed = await complete(owner.token, landing.searchParams.get('handle') ?? '');
    expect(completed.status).toBe(200);
    const [listed] = await credentialsOf(owner.token);
    expect(field(listed, 'id')).toBe(field(completed.body, 'credentialId'));
    expect(field(listed, 'name')).toBe('default');
    expect(field(listed, 'status')).toBe('valid');
  });

  it('sends a callback it cannot tie to a flow to the default frontend URL with an error', async () => {
    const owner = await system.signUp();
    const atProvider = await fetch(await begin(owner.token, { provider: 'gmail', name: 'replayed' }), {
      redirect: 'manual',
    });
    const callbackUrl = atProvider.headers.get('location') ?? '';
    const { response: first } = await oauthCallback(callbackUrl);
    const firstLanding = new URL(first.headers.get('location') ?? '');
    handles.push(firstLanding.searchParams.get('handle') ?? '');
    expect(firstLanding.searchParams.get('status')).toBe('pending');

    // The same callback again (a reload, or a stolen URL) does not park a second handle.
    const { response: replayed } = await oauthCallback(callbackUrl);
    expect(replayed.status).toBe(302);
    expect(replayed.headers.get('location')).toBe(`${DEFAULT_LANDING}?status=error&code=state_invalid`);
    const { response: missing } = await oauthClient().GET('/api/oauth2-credential/callback', {
      params: { query: { code: 'x' } },
      redirect: 'manual',
    });
    expect(missing.headers.get('location')).toBe(`${DEFAULT_LANDING}?status=error&code=state_missing`);
  });

  it('refuses an expired handle and discards its code', async () => {
    const owner = await system.signUp();
    const { code, landing } = await browserConsents(
      await begin(owner.token, { provider: 'gmail', name: 'too slow' }),
    );
    await system.sql`update oauth_states set expires_at = now() - interval '1 second' where handle_hash is not null`;
    const late = await complete(owner.token, landing.searchParams.get('handle') ?? '');
    expect(late.status).toBe(400);
    expect(field(late.body, 'code')).toBe('handle_expired');
    expect(codeRedemptions(code)).toBe(0);
    const again = await complete(owner.token, landing.searchParams.get('handle') ?? '');
    expect(field(again.body, 'code')).toBe('handle_invalid');
  });

  it('deletes an abandoned flow and its parked code an hour after it expired', async () => {
    const owner = await system.signUp();
    const { landing } = await browserConsents(await begin(owner.token, { provider: 'gmail', name: 'left' }));
    const handle = landing.searchParams.get('handle') ?? '';
    const handleHash = createHash('sha256').update(handle).digest('hex');
    await system.sql`update oauth_states set expires_at = now() - interval '61 minutes' where handle_hash = ${handleHash}`;
    await begin(owner.token, { provider: 'gmail', name: 'next' });
    expect(await system.sql`select 1 from oauth_states where handle_hash = ${handleHash}`).toHaveLength(0);
  });

  it('documents the flow in the OpenAPI document', async () => {
    const docs = await http('GET', oauthUrl('/openapi.json'));
    const callback = field(docs.body, 'paths', '/api/oauth2-credential/callback', 'get', 'responses');
    expect(Object.keys(typeof callback === 'object' && callback !== null ? callback : {})).toContain('302');
    const completion = field(docs.body, 'paths', '/api/oauth2-credential/complete', 'post', 'responses');
    expect(Object.keys(typeof completion === 'object' && completion !== null ? completion : {})).toEqual(
      expect.arrayContaining(['200', '400', '401', '403', '404']),
    );
  });

  it('never logs a handle', () => {
    expect(handles.length).toBeGreaterThan(3);
    const logs = system.logLines.join('\n');
    for (const handle of handles) expect(logs).not.toContain(handle);
  });
});
