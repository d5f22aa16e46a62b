import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createApiClient, type operations } from '@autoflow/client';
import { generateKey, Keyring } from '@autoflow/crypto';
import { FakeOAuthServer, Sink } from '@autoflow/fakes';
import { freePort, REPO_ROOT, spawnApp, waitUntilReady } from '@autoflow/local-stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerOf, field, http, oauthCallback, System, waitFor } from '../src/system.js';

const run = promisify(execFile);
const FRONTEND = 'http://frontend.test';
const google = new FakeOAuthServer();
const sink = new Sink();
let system: System;
let token: string;
/** Every API answer of this file, scanned for secrets at the end. */
const answers: string[] = [];
/** Every completion handle the callback gave out: none may reach a log line. */
const handles: string[] = [];
/** Where the callback sends a browser when the flow named no redirectUrl (the first allowed origin). */
const DEFAULT_LANDING = `${FRONTEND}/`;

beforeAll(async () => {
  await google.start();
  await sink.start();
  google.registerClient('user-app', 'user-app-secret-value');
  system = new System({
    allowedHosts: [sink.hostPort],
    env: {
      ...google.appEnv(FRONTEND),
      GMAIL_API_ROOT_URL: google.url(''),
      // This file makes many flows from one address; the limit itself has its own test below.
      OAUTH_RATE_LIMIT_PER_MINUTE: '1000',
    },
  });
  await system.start();
  ({ token } = await system.signUp('oauth-owner@example.com'));
});

afterAll(async () => {
  await system?.stop();
  await google.stop();
  await sink.stop();
});

const oauthClient = (as: string) => system.client(as, 'oauth-service');

/** An answer of oauth-service through the typed client, kept for the secret scan at the end. */
async function scanned(call: Parameters<typeof answerOf>[0]) {
  const response = await answerOf(call);
  answers.push(JSON.stringify(response.body));
  return response;
}

/** The browser reaches the callback URL; answers where it is sent (the redirect is not followed). */
async function locationOf(
  callbackUrl: string,
): Promise<{ status: number; location: string; referrerPolicy: string | null }> {
  const { response, error } = await oauthCallback(callbackUrl);
  answers.push(JSON.stringify(error ?? ''));
  return {
    status: response.status,
    location: response.headers.get('location') ?? '',
    referrerPolicy: response.headers.get('referrer-policy'),
  };
}

type BeginQuery = operations['beginOAuth']['parameters']['query'];

async function begin(query: BeginQuery, as = token): Promise<string> {
  // Not scanned: the authorization URL is where the state legitimately travels to the provider.
  const { data, error, response } = await oauthClient(as).GET('/api/oauth2-credential/auth', {
    params: { query },
    headers: { accept: 'application/json' },
  });
  expect(response.status, JSON.stringify(error)).toBe(200);
  return String(data?.authorizationUrl);
}

async function storeApp(name: string): Promise<number> {
  const stored = await scanned(
    oauthClient(token).POST('/api/oauth2-credential/store', {
      body: { provider: 'gmail', clientId: 'user-app', clientSecret: 'user-app-secret-value', name },
    }),
  );
  expect(stored.status).toBe(201);
  return Number(field(stored.body, 'credentialId'));
}

/** Consent at the fake provider (not our API: a raw fetch); answers the callback URL it sends the browser to. */
async function consent(authorizationUrl: string): Promise<string> {
  const atProvider = await fetch(authorizationUrl, { redirect: 'manual' });
  answers.push(await atProvider.text());
  expect(atProvider.status).toBe(302);
  return atProvider.headers.get('location') ?? '';
}

/** The frontend, signed in as `as`, completes the flow it landed on with `handle`. */
async function complete(handle: string, as = token) {
  handles.push(handle);
  return scanned(oauthClient(as).POST('/api/oauth2-credential/complete', { body: { handle } }));
}

/** The browser reaches the callback and lands on the frontend with a handle; answers the handle. */
async function pendingHandle(callbackUrl: string): Promise<string> {
  const callback = await locationOf(callbackUrl);
  expect(callback.status).toBe(302);
  const landing = new URL(callback.location);
  expect(landing.searchParams.get('status'), callback.location).toBe('pending');
  return landing.searchParams.get('handle') ?? '';
}

/** The callback, then the completion by the user who started the flow; answers the credential id. */
async function connect(callbackUrl: string, as = token): Promise<number> {
  const completed = await complete(await pendingHandle(callbackUrl), as);
  expect(completed.status, JSON.stringify(completed.body)).toBe(200);
  return Number(field(completed.body, 'credentialId'));
}

async function credentialsList(): Promise<unknown[]> {
  const { data, error } = await system.client(token).GET('/api/credentials');
  answers.push(JSON.stringify(data ?? error));
  return data?.items ?? [];
}

describe('connecting an account', () => {
  it('runs the whole flow for a user-provided app and stores only ciphertext', async () => {
    const credentialId = await storeApp('work mail');
    const authorizationUrl = await begin({
      provider: 'gmail',
      credentialId,
      redirectUrl: `${FRONTEND}/done`,
    });
    const authorize = new URL(authorizationUrl);
    expect(authorize.origin).toBe(`http://127.0.0.1:${google.port}`);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('access_type')).toBe('offline');
    expect(authorize.searchParams.get('state')?.length).toBeGreaterThanOrEqual(22);

    const callbackUrl = await consent(authorizationUrl);
    const callback = await locationOf(callbackUrl);
    expect(callback.status).toBe(302);
    expect(callback.referrerPolicy).toBe('no-referrer');
    const landing = new URL(callback.location);
    expect(`${landing.origin}${landing.pathname}`).toBe(`${FRONTEND}/done`);
    expect(landing.searchParams.get('status')).toBe('pending');
    const completed = await complete(landing.searchParams.get('handle') ?? '');
    expect(completed.body).toEqual({ credentialId });

    const listed = (await credentialsList()).find((credential) => field(credential, 'id') === credentialId);
    expect(field(listed, 'status')).toBe('valid');
    expect(field(listed, 'serviceProvider')).toBe('gmail');
    expect(field(listed, 'scopes')).toContain('https://www.googleapis.com/auth/gmail.send');

    const [row] =
      await system.sql`select access_token, refresh_token, client_secret from credentials where id = ${credentialId}`;
    for (const value of [row?.access_token, row?.refresh_token, row?.client_secret]) {
      expect(String(value)).toMatch(/^v1:/);
      for (const secret of google.issuedSecrets) expect(String(value)).not.toContain(secret);
    }
  });

  it('connects through the platform app when no credential is given', async () => {
    const authorizationUrl = await begin({
      provider: 'gmail',
      name: 'platform mail',
      redirectUrl: `${FRONTEND}/done`,
    });
    expect(new URL(authorizationUrl).searchParams.get('client_id')).toBe('platform-app');
    const credentialId = await connect(await consent(authorizationUrl));
    const listed = (await credentialsList()).find((credential) => field(credential, 'id') === credentialId);
    expect(field(listed, 'name')).toBe('platform mail');
    expect(field(listed, 'status')).toBe('valid');
  });
});

describe('testing a credential', () => {
  async function test(credentialId: number): Promise<{ status: number; body: unknown }> {
    const { data, error, response } = await system
      .client(token)
      .POST('/api/credentials/{id}/test', { params: { path: { id: credentialId } } });
    answers.push(JSON.stringify(data ?? error));
    return { status: response.status, body: data ?? error };
  }

  it('names the connected account', async () => {
    const credentialId = await storeApp('identity');
    await connect(await consent(await begin({ provider: 'gmail', credentialId })));
    const tested = await test(credentialId);
    expect(tested.body).toEqual({ ok: true, account: google.account });
  });

  it('refuses a ciphertext copied into another row', async () => {
    const first = await storeApp('copy source');
    const second = await storeApp('copy target');
    for (const id of [first, second]) {
      await connect(await consent(await begin({ provider: 'gmail', credentialId: id })));
    }
    await system.sql`update credentials set access_token = (select access_token from credentials where id = ${first})
      where id = ${second}`;
    expect((await test(second)).body).toEqual({ ok: false, reason: 'credential_unreadable' });
    expect((await test(first)).body).toEqual({ ok: true, account: google.account });
  });
});

describe('refusals', () => {
  it('refuses a replayed state', async () => {
    const callbackUrl = await consent(await begin({ provider: 'gmail', name: 'replay' }));
    const handle = await pendingHandle(callbackUrl);
    const replay = await locationOf(callbackUrl);
    expect(replay.location).toBe(`${DEFAULT_LANDING}?status=error&code=state_invalid`);
    // Also after completion.
    expect((await complete(handle)).status).toBe(200);
    expect((await locationOf(callbackUrl)).location).toBe(
      `${DEFAULT_LANDING}?status=error&code=state_invalid`,
    );
  });

  it("refuses to start a flow on another user's credential", async () => {
    const credentialId = await storeApp('mine only');
    const other = await system.signUp();
    const response = await scanned(
      oauthClient(other.token).GET('/api/oauth2-credential/auth', {
        params: { query: { provider: 'gmail', credentialId } },
        headers: { accept: 'application/json' },
      }),
    );
    expect(response.status).toBe(404);
  });

  it("refuses a code injected into another user's pending flow", async () => {
    // A victim's state with the attacker's code: the victim's PKCE verifier does not match the
    // challenge the attacker's code was issued for, so the provider refuses the exchange.
    const victimCredential = await storeApp('victim');
    const victimCallback = new URL(
      await consent(
        await begin({
          provider: 'gmail',
          credentialId: victimCredential,
          redirectUrl: `${FRONTEND}/v`,
        }),
      ),
    );
    const attacker = await system.signUp();
    const attackerCallback = new URL(
      await consent(await begin({ provider: 'gmail', name: 'attacker' }, attacker.token)),
    );
    const injected = new URL(victimCallback);
    injected.searchParams.set('code', attackerCallback.searchParams.get('code') ?? '');
    const completed = await complete(await pendingHandle(injected.toString()));
    expect(completed.status).toBe(400);
    expect(field(completed.body, 'code')).toBe('token_exchange_failed');
    const listed = (await credentialsList()).find(
      (credential) => field(credential, 'id') === victimCredential,
    );
    expect(field(listed, 'status')).toBe('needs_reconnect');
  });

  it('refuses a tampered state and a callback without state', async () => {
    const callbackUrl = new URL(await consent(await begin({ provider: 'gmail', name: 'tampered' })));
    const state = callbackUrl.searchParams.get('state') ?? '';
    callbackUrl.searchParams.set('state', `${state.slice(0, -2)}xx`);
    const tampered = await locationOf(callbackUrl.toString());
    expect(tampered.location).toBe(`${DEFAULT_LANDING}?status=error&code=state_invalid`);
    const missing = await locationOf(
      system.url(
        'oauth-service',
        `/api/oauth2-credential/callback?code=${callbackUrl.searchParams.get('code')}`,
      ),
    );
    expect(missing.status).toBe(302);
    expect(missing.location).toBe(`${DEFAULT_LANDING}?status=error&code=state_missing`);
  });

  it('refuses an expired state', async () => {
    const callbackUrl = await consent(
      await begin({ provider: 'gmail', name: 'slow', redirectUrl: `${FRONTEND}/done` }),
    );
    await system.sql`update oauth_states set expires_at = now() - interval '1 minute'`;
    const callback = await locationOf(callbackUrl);
    expect(callback.location).toBe(`${FRONTEND}/done?status=error&code=state_expired`);
  });

  it('fails the exchange when the PKCE verifier is wrong', async () => {
    const credentialId = await storeApp('pkce');
    const callbackUrl = await consent(
      await begin({ provider: 'gmail', credentialId, redirectUrl: `${FRONTEND}/done` }),
    );
    // Swap the stored verifier for another, sealed as the service would: the provider must refuse it.
    const keyring = Keyring.fromEnv(system.launched.env.ENCRYPTION_KEYS, undefined);
    const state = new URL(callbackUrl).searchParams.get('state') ?? '';
    const stateHash = createHash('sha256').update(state).digest('hex');
    const wrong = keyring.encrypt('x'.repeat(43), {
      table: 'oauth_states',
      column: 'code_verifier',
      row: stateHash,
    });
    await system.sql`update oauth_states set code_verifier = ${wrong} where state_hash = ${stateHash}`;
    const completed = await complete(await pendingHandle(callbackUrl));
    expect(completed.status).toBe(400);
    expect(field(completed.body, 'code')).toBe('token_exchange_failed');
    const listed = (await credentialsList()).find((credential) => field(credential, 'id') === credentialId);
    expect(field(listed, 'status')).toBe('needs_reconnect');
  });

  it('refuses a redirectUrl on a foreign origin', async () => {
    const response = await scanned(
      oauthClient(token).GET('/api/oauth2-credential/auth', {
        params: { query: { provider: 'gmail', redirectUrl: 'https://evil.test/' } },
        headers: { accept: 'application/json' },
      }),
    );
    expect(response.status).toBe(400);
    expect(field(response.body, 'code')).toBe('redirect_not_allowed');
  });

  it('rate-limits the OAuth endpoints per client address', async () => {
    const port = await freePort();
    const limited = spawnApp({
      name: 'oauth-service',
      port,
      // Behind a (loopback) proxy, so that this test's client address is its own: the counts are
      // shared with the other oauth-service, which has served this file's earlier callbacks.
      env: { ...system.launched.env, OAUTH_RATE_LIMIT_PER_MINUTE: '3', TRUST_PROXY: 'loopback' },
      inheritedEnv: process.env,
    });
    try {
      await waitUntilReady(limited);
      const statuses: number[] = [];
      for (let attempt = 0; attempt < 4; attempt++) {
        const { response, error } = await createApiClient({ baseUrl: limited.baseUrl }).GET(
          '/api/oauth2-credential/callback',
          {
            params: { query: { state: 'x' } },
            headers: { 'x-forwarded-for': '203.0.113.77' },
            redirect: 'manual',
          },
        );
        statuses.push(response.status);
        if (response.status === 429) expect(field(error, 'code')).toBe('rate_limited');
      }
      expect(statuses).toEqual([302, 302, 302, 429]);
      // Health probes are not limited.
      expect((await http('GET', `${limited.baseUrl}/healthz`)).status).toBe(200);
    } finally {
      await limited.stop();
    }
  });

  it('does not start without an encryption key, and says why', async () => {
    const lines: string[] = [];
    const app = spawnApp({
      name: 'oauth-service',
      port: 1,
      env: { ...system.launched.env, ENCRYPTION_KEYS: '' },
      inheritedEnv: process.env,
      onLine: (_, line) => lines.push(line),
    });
    expect(await app.exited).not.toBe(0);
    expect(lines.join('\n')).toContain('ENCRYPTION_KEYS');
  });
});

describe('tokens in runs', () => {
  async function connectedCredential(name: string): Promise<number> {
    const credentialId = await storeApp(name);
    await connect(await consent(await begin({ provider: 'gmail', credentialId })));
    return credentialId;
  }

  async function workflowUsing(credentialId: number, path: string): Promise<number> {
    const created = await system.createWorkflow(token, {
      name: `calls ${path} as the account`,
      trigger: { serviceProvider: 'manual', triggerId: 'run', config: {} },
      action: {
        serviceProvider: 'http',
        actionId: 'request',
        config: { url: `${sink.baseUrl}${path}`, sendCredentialTo: [sink.hostPort] },
        credentialsId: credentialId,
      },
    });
    return created.id;
  }

  /** Starts `count` runs at once; answers every execution of the workflow once `total` have finished. */
  async function runAll(workflowId: number, count: number, total = count): Promise<unknown[]> {
    await Promise.all(Array.from({ length: count }, () => system.runWorkflow(token, workflowId)));
    return waitFor(`${total} finished runs`, async () => {
      const all = await system.executions(token, workflowId);
      return all.length === total && all.every((execution) => field(execution, 'status') !== 'running')
        ? all
        : undefined;
    });
  }

  const expire = (credentialId: number) =>
    system.sql`update credentials set expires_at = now() - interval '1 second' where id = ${credentialId}`;

  it('refreshes a just-expired token once for 20 concurrent runs, also with rotating refresh tokens', async () => {
    for (const rotate of [false, true]) {
      google.behaviour.rotateRefreshTokens = rotate;
      const credentialId = await connectedCredential(`refresh ${rotate ? 'rotating' : 'plain'}`);
      const path = `/ok-refresh-${rotate}`;
      const workflowId = await workflowUsing(credentialId, path);
      await expire(credentialId);
      const refreshesBefore = google.refreshCount;

      const executions = await runAll(workflowId, 20);
      expect(executions.map((execution) => field(execution, 'status'))).toEqual(Array(20).fill('completed'));
      expect(google.refreshCount - refreshesBefore).toBe(1);
      const bearers = new Set(sink.forPath(path).map((request) => request.authorization));
      expect(bearers.size).toBe(1);

      // Nothing was burned: the stored refresh token still refreshes.
      await expire(credentialId);
      const [newest] = await runAll(workflowId, 1, 21);
      expect(field(newest, 'status')).toBe('completed');
      expect(google.refreshCount - refreshesBefore).toBe(2);
    }
    google.behaviour.rotateRefreshTokens = false;
  });

  it('keeps the stored refresh token when a reconnection answers none', async () => {
    const credentialId = await connectedCredential('second consent');
    const [before] = await system.sql<
      { refresh_token: string }[]
    >`select refresh_token from credentials where id = ${credentialId}`;
    google.behaviour.refreshTokenOnFirstConsentOnly = true;
    try {
      await connect(await consent(await begin({ provider: 'gmail', credentialId })));
    } finally {
      google.behaviour.refreshTokenOnFirstConsentOnly = false;
    }
    const [after] = await system.sql<
      { refresh_token: string }[]
    >`select refresh_token from credentials where id = ${credentialId}`;
    expect(after?.refresh_token).toBe(before?.refresh_token);
    const workflowId = await workflowUsing(credentialId, '/ok-second-consent');
    await expire(credentialId);
    const refreshesBefore = google.refreshCount;
    const [run] = await runAll(workflowId, 1);
    expect(field(run, 'status')).toBe('completed');
    expect(google.refreshCount - refreshesBefore).toBe(1);
  });

  it('fails a run whose grant was revoked, shows the credential as needing reconnection, and recovers on reconnect', async () => {
    const credentialId = await connectedCredential('revoked');
    const workflowId = await workflowUsing(credentialId, '/ok-revoked');
    google.revokeAll();
    await expire(credentialId);

    const [failed] = await runAll(workflowId, 1);
    expect(field(failed, 'status')).toBe('failed');
    expect(String(field(failed, 'errorMessage'))).toContain('needs reconnecting');
    expect(String(field(failed, 'errorMessage'))).toContain('invalid_grant');
    expect(google.refreshCount).toBeGreaterThan(0);
    const listed = (await credentialsList()).find((credential) => field(credential, 'id') === credentialId);
    expect(field(listed, 'status')).toBe('needs_reconnect');

    await connect(await consent(await begin({ provider: 'gmail', credentialId })));
    const reconnected = (await credentialsList()).find(
      (credential) => field(credential, 'id') === credentialId,
    );
    expect(field(reconnected, 'status')).toBe('valid');
    const [newest] = await runAll(workflowId, 1, 2);
    expect(field(newest, 'status')).toBe('completed');
  });
});

describe('deleting a credential', () => {
  it('revokes it at the provider and deactivates the workflows that use it', async () => {
    const credentialId = await storeApp('to delete');
    await connect(await consent(await begin({ provider: 'gmail', credentialId })));
    const { id: workflowId } = await system.createActiveWorkflow(token, {
      name: 'uses the credential',
      trigger: { serviceProvider: 'manual', triggerId: 'run', config: {} },
      action: {
        serviceProvider: 'http',
        actionId: 'request',
        config: { url: 'https://example.com/', sendCredentialTo: ['example.com'] },
        credentialsId: credentialId,
      },
    });
    const revokedBefore = google.revoked.length;
    const client = system.client(token);

    expect(
      (await client.DELETE('/api/credentials/{id}', { params: { path: { id: credentialId } } })).response
        .status,
    ).toBe(204);
    expect(google.revoked.length).toBe(revokedBefore + 1);
    expect((await credentialsList()).some((credential) => field(credential, 'id') === credentialId)).toBe(
      false,
    );
    const workflow = await client.GET('/api/workflows/{id}', { params: { path: { id: workflowId } } });
    expect(workflow.data?.isActive).toBe(false);
    expect(workflow.data?.action.credentialsId).toBeNull();
  });
});

describe('key rotation', () => {
  it('moves every secret to a new key while runs go on, after which the old key can go', async () => {
    const credentialId = await storeApp('rotation');
    await connect(await consent(await begin({ provider: 'gmail', credentialId })));
    const created = await system.createWorkflow(token, {
      name: 'busy during rotation',
      trigger: { serviceProvider: 'manual', triggerId: 'run', config: {} },
      action: {
        serviceProvider: 'http',
        actionId: 'request',
        config: { url: `${sink.baseUrl}/slow?ms=50`, sendCredentialTo: [sink.hostPort] },
        credentialsId: credentialId,
      },
    });
    const workflowId = created.id;
    const env = system.launched.env;
    const oldKeys = env.ENCRYPTION_KEYS ?? '';
    const restartAll = async () => {
      for (const name of ['api-gateway', 'oauth-service', 'worker'] as const) {
        await system.apps.get(name)?.stop();
        await system.startApp(name);
      }
    };

    // 1. Every app learns the new key and seals new values with it.
    env.ENCRYPTION_KEYS = `${oldKeys},rotated:${generateKey()}`;
    env.ENCRYPTION_CURRENT_KEY_ID = 'rotated';
    await restartAll();

    // 2. Re-encrypt while the worker is busy with runs that read the credential.
    const runs = Promise.all(Array.from({ length: 10 }, () => system.runWorkflow(token, workflowId)));
    const reencrypt = await run(process.execPath, [join(REPO_ROOT, 'packages/db/dist/reencrypt-cli.js')], {
      env: { ...process.env, ...env },
    });
    expect(reencrypt.stdout).toContain('values now sealed with key rotated');
    await runs;
    const sealed = await system.sql<{ value: string }[]>`
      select unnest(array[access_token, refresh_token, client_secret]) as value from credentials
      union all select webhook_secret from workflows union all select code_verifier from oauth_states`;
    const values = sealed.map((row) => row.value).filter(Boolean);
    expect(values.length).toBeGreaterThan(10);
    // Only the ciphertext an earlier test copied into the wrong row stays behind, reported as unreadable.
    expect(reencrypt.stdout).toContain('credentials.access_token: ');
    expect(reencrypt.stdout).toContain('1 UNREADABLE');
    const [copied] = await system.sql<
      { access_token: string }[]
    >`select access_token from credentials where name = 'copy target'`;
    expect(values.filter((value) => !value.startsWith('v1:rotated:'))).toEqual([copied?.access_token]);

    // 3. The old key goes; everything still opens.
    env.ENCRYPTION_KEYS = env.ENCRYPTION_KEYS.split(',')
      .filter((entry) => entry.startsWith('rotated:'))
      .join(',');
    await restartAll();
    const executions = await waitFor('the runs during rotation', async () => {
      const all = await system.executions(token, workflowId);
      return all.length === 10 && all.every((execution) => field(execution, 'status') !== 'running')
        ? all
        : undefined;
    });
    expect(executions.map((execution) => field(execution, 'status'))).toEqual(Array(10).fill('completed'));
    const tested = await system
      .client(token)
      .POST('/api/credentials/{id}/test', { params: { path: { id: credentialId } } });
    expect(tested.data).toEqual({ ok: true, account: google.account });
    await system.sql`update credentials set expires_at = now() - interval '1 second' where id = ${credentialId}`;
    await system.runWorkflow(token, workflowId);
    const [newest] = await waitFor('a run after the old key is gone', async () => {
      const all = await system.executions(token, workflowId);
      return all.length === 11 && all.every((execution) => field(execution, 'status') !== 'running')
        ? all
        : undefined;
    });
    expect(field(newest, 'status')).toBe('completed');
  });
});

describe('secrets', () => {
  it('never shows a token, code, state or client secret in an answer or a log line', () => {
    expect(google.issuedSecrets.length).toBeGreaterThan(10);
    const everything = `${answers.join('\n')}\n${system.logLines.join('\n')}`;
    for (const secret of google.issuedSecrets) expect(everything).not.toContain(secret);
    expect(handles.length).toBeGreaterThan(10);
    const logs = system.logLines.join('\n');
    for (const handle of handles) expect(logs).not.toContain(handle);
  });
});
