import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FakeOAuthServer, FakeVault, Sink } from '@autoflow/fakes';
import { REPO_ROOT } from '@autoflow/local-stack';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { field, http, System, waitFor } from '../src/system.js';

// The four apps with KEY_PROVIDER=vault-transit against a local Vault Transit double: secrets are sealed
// with data keys Transit wraps; `pnpm reencrypt` rewraps them after a Transit key rotation.

const run = promisify(execFile);
const FRONTEND = 'http://frontend.test';
const TRANSIT_KEY = 'autoflow';
const NAMESPACE = 'team-autoflow';
const vault = new FakeVault();
const google = new FakeOAuthServer();
const sink = new Sink();
let system: System;
let token: string;
let userId: number;
/** The reencrypt command's own Vault token (the apps log in with AppRole). */
let operatorToken: string;

beforeAll(async () => {
  await Promise.all([vault.start(), google.start(), sink.start()]);
  vault.createKey(TRANSIT_KEY);
  operatorToken = vault.issueToken();
  const role = vault.createAppRole();
  google.registerClient('user-app', 'user-app-secret-value');
  system = new System({
    allowedHosts: [sink.hostPort],
    env: {
      ...google.appEnv(FRONTEND),
      GMAIL_API_ROOT_URL: google.url(''),
      KEY_PROVIDER: 'vault-transit',
      VAULT_ADDR: vault.address,
      VAULT_ROLE_ID: role.roleId,
      VAULT_SECRET_ID: role.secretId,
      VAULT_TRANSIT_KEY: TRANSIT_KEY,
      VAULT_NAMESPACE: NAMESPACE,
      // ENCRYPTION_KEYS (set by the launcher) only opens values sealed before the switch to Vault.
    },
  });
  await system.start();
  ({ token, userId } = await system.signUp('vault-owner@example.com'));
});

afterAll(async () => {
  await system?.stop();
  await Promise.all([vault.stop(), google.stop(), sink.stop()]);
});

async function sealedValues(): Promise<{ place: string; value: string }[]> {
  return system.sql<{ place: string; value: string }[]>`
    select 'credentials.' || id || '.access_token' as place, access_token as value from credentials where access_token is not null
    union all select 'credentials.' || id || '.refresh_token', refresh_token from credentials where refresh_token is not null
    union all select 'credentials.' || id || '.client_secret', client_secret from credentials where client_secret is not null
    union all select 'workflows.' || id || '.webhook_secret', webhook_secret from workflows where webhook_secret is not null
    union all select 'oauth_states.' || state_hash || '.code_verifier', code_verifier from oauth_states`;
}

async function finished(workflowId: number, count: number): Promise<unknown[]> {
  return waitFor(`${count} finished runs`, async () => {
    const all = await system.executions(token, workflowId);
    return all.length === count && all.every((execution) => field(execution, 'status') !== 'running')
      ? all
      : undefined;
  });
}

async function sendSigned(hookUrl: string, secret: string, eventId: string): Promise<number> {
  const payload = JSON.stringify({ event: eventId });
  const timestamp = new Date();
  const response = await http('POST', hookUrl, {
    rawBody: payload,
    headers: {
      'content-type': 'application/json',
      'webhook-id': eventId,
      'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
      'webhook-signature': new Webhook(secret).sign(eventId, timestamp, payload),
    },
  });
  return response.status;
}

describe('keys from Vault Transit', () => {
  it('stores and uses secrets sealed under Transit, and reencrypt rewraps them after a rotation', async () => {
    // 1. oauth-service: the user's own OAuth app (client secret) and the connect flow (verifier, tokens).
    const stored = await system.client(token, 'oauth-service').POST('/api/oauth2-credential/store', {
      body: {
        provider: 'gmail',
        clientId: 'user-app',
        clientSecret: 'user-app-secret-value',
        name: 'vault mail',
      },
    });
    expect(stored.response.status, JSON.stringify(stored.error)).toBe(201);
    const credentialId = Number(stored.data?.credentialId);
    const connected = await system.connectThroughOAuth({
      token,
      provider: 'gmail',
      credentialId,
      redirectUrl: `${FRONTEND}/done`,
    });
    expect(connected).toBe(credentialId);

    // 2. api-gateway: a signed webhook (its secret sealed) whose HTTP action sends the account's token.
    const created = await system.createWorkflow(token, {
      name: 'signed hook, as the account',
      trigger: { serviceProvider: 'webhook', triggerId: 'receive', config: { verifySignature: true } },
      action: {
        serviceProvider: 'http',
        actionId: 'request',
        config: { url: `${sink.baseUrl}/vault-run`, sendCredentialTo: [sink.hostPort] },
        credentialsId: credentialId,
      },
    });
    const workflowId = created.id;
    const hookUrl = String(created.webhook?.url);
    const secret = String(created.webhook?.secret);
    await system.activate(token, workflowId);

    // A credential sealed by the env keyring before the switch to Vault still works.
    const legacyId = await system.insertConnectedCredential(userId, 'gmail', 'legacy-env-token');
    const legacy = await system.createWorkflow(token, {
      name: 'legacy credential',
      trigger: { serviceProvider: 'manual', triggerId: 'run', config: {} },
      action: {
        serviceProvider: 'http',
        actionId: 'request',
        config: { url: `${sink.baseUrl}/vault-legacy`, sendCredentialTo: [sink.hostPort] },
        credentialsId: legacyId,
      },
    });
    const legacyWorkflowId = legacy.id;

    // 3. trigger-ingest opens the signing secret; the worker opens the token.
    expect(await sendSigned(hookUrl, secret, 'evt-before-rotation')).toBe(202);
    await system.runWorkflow(token, legacyWorkflowId);
    const [firstRun] = await finished(workflowId, 1);
    expect(field(firstRun, 'status')).toBe('completed');
    expect(field((await finished(legacyWorkflowId, 1))[0], 'status')).toBe('completed');
    const bearer = sink.forPath('/vault-run')[0]?.authorization?.replace(/^Bearer /, '') ?? '';
    expect(google.isAccessToken(bearer)).toBe(true);
    expect(sink.forPath('/vault-legacy')[0]?.authorization).toBe('Bearer legacy-env-token');

    // A flow begun and not finished leaves its sealed PKCE verifier in oauth_states.
    const pending = await system.client(token, 'oauth-service').GET('/api/oauth2-credential/auth', {
      params: { query: { provider: 'gmail' } },
      headers: { accept: 'application/json' },
    });
    expect(pending.response.status).toBe(200);

    // Everything the apps sealed is a v2 value under Transit key version 1; no plaintext in the database.
    const before = await sealedValues();
    const legacyPlace = `credentials.${legacyId}.access_token`;
    expect(before.length).toBeGreaterThanOrEqual(5);
    for (const { place, value } of before) {
      if (place === legacyPlace) expect(value).toMatch(/^v1:/);
      else expect(value, place).toMatch(/^v2:vault-transit:1:/);
    }
    const dump = JSON.stringify(before);
    for (const plaintext of [...google.issuedSecrets, secret, 'legacy-env-token'])
      expect(dump).not.toContain(plaintext);
    // The apps logged in with AppRole, spoke to the namespace, and sent Vault only data keys to wrap.
    expect(vault.calls.filter((call) => call.path === '/v1/auth/approle/login').length).toBeGreaterThan(0);
    expect(
      vault.calls
        .filter((call) => call.path.startsWith('/v1/transit/'))
        .every((call) => call.namespace === NAMESPACE),
    ).toBe(true);
    expect(vault.count('encrypt')).toBeLessThanOrEqual(4);

    // 4. Rotate the Transit key, then `pnpm reencrypt` (token auth) rewraps every data key.
    expect(vault.rotateKey(TRANSIT_KEY)).toBe(2);
    const rewrapsBefore = vault.count('rewrap');
    const env = system.launched.env;
    const reencrypt = await run(process.execPath, [join(REPO_ROOT, 'packages/db/dist/reencrypt-cli.js')], {
      env: {
        ...process.env,
        DATABASE_URL: env.DATABASE_URL,
        ENCRYPTION_KEYS: env.ENCRYPTION_KEYS,
        KEY_PROVIDER: 'vault-transit',
        VAULT_ADDR: vault.address,
        VAULT_TOKEN: operatorToken,
        VAULT_TRANSIT_KEY: TRANSIT_KEY,
        VAULT_NAMESPACE: NAMESPACE,
      },
    });
    console.log(reencrypt.stdout);
    expect(reencrypt.stdout).toContain(
      `done: ${before.length} values now sealed with Transit key ${TRANSIT_KEY} v2`,
    );
    expect(reencrypt.stdout).not.toContain('UNREADABLE');
    const distinctDataKeys = new Set(
      before.filter(({ value }) => value.startsWith('v2:')).map(({ value }) => value.split(':')[3]),
    );
    expect(vault.count('rewrap') - rewrapsBefore).toBe(distinctDataKeys.size);

    const after = await sealedValues();
    expect(after.map(({ place }) => place).sort()).toEqual(before.map(({ place }) => place).sort());
    for (const { place, value } of after) expect(value, place).toMatch(/^v2:vault-transit:2:/);

    // 5. Version 1 is retired; fresh processes (no cached data keys) still open everything.
    const retired = await fetch(`${vault.address}/v1/transit/keys/${TRANSIT_KEY}/config`, {
      method: 'POST',
      headers: { 'x-vault-token': operatorToken, 'content-type': 'application/json' },
      body: JSON.stringify({ min_decryption_version: 2 }),
    });
    expect(retired.status).toBe(200);
    for (const name of ['api-gateway', 'trigger-ingest', 'worker'] as const) {
      await system.apps.get(name)?.stop();
      await system.startApp(name);
    }
    // An expired token is refreshed with the rewrapped client secret and refresh token.
    await system.sql`update credentials set expires_at = now() - interval '1 second' where id = ${credentialId}`;
    const refreshesBefore = google.refreshCount;
    expect(await sendSigned(hookUrl, secret, 'evt-after-rotation')).toBe(202);
    await system.runWorkflow(token, legacyWorkflowId);
    const runs = await finished(workflowId, 2);
    expect(runs.map((execution) => field(execution, 'status'))).toEqual(['completed', 'completed']);
    expect(google.refreshCount - refreshesBefore).toBe(1);
    const legacyRuns = await finished(legacyWorkflowId, 2);
    expect(legacyRuns.map((execution) => field(execution, 'status'))).toEqual(['completed', 'completed']);
    expect(sink.forPath('/vault-legacy').at(-1)?.authorization).toBe('Bearer legacy-env-token');
    const refreshed =
      sink
        .forPath('/vault-run')
        .at(-1)
        ?.authorization?.replace(/^Bearer /, '') ?? '';
    expect(refreshed).not.toBe(bearer);
    expect(google.isAccessToken(refreshed)).toBe(true);
    const [tokenRow] = await system.sql<{ access_token: string }[]>`
      select access_token from credentials where id = ${credentialId}`;
    expect(tokenRow?.access_token).toMatch(/^v2:vault-transit:2:/);
  });
});
