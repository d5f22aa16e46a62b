import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeVault } from '../src/index.js';

// The Transit double on Vault's documented wire format, driven with plain HTTP as a Vault client would.

const vault = new FakeVault();
let token: string;

beforeAll(async () => {
  await vault.start();
  token = vault.issueToken();
});

afterAll(async () => {
  await vault.stop();
});

async function call(method: string, path: string, body?: unknown, as: string | null = token) {
  const response = await fetch(`${vault.address}${path}`, {
    method,
    headers: { ...(as ? { 'x-vault-token': as } : {}), 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const parsed: unknown = await response.json();
  return { status: response.status, body: parsed };
}

function field(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = Object.entries(current).find(([name]) => name === key)?.[1];
  }
  return current;
}

describe('FakeVault (Transit)', () => {
  it('refuses requests without a valid X-Vault-Token with 403 permission denied', async () => {
    for (const as of [null, 'hvs.unknown']) {
      const response = await call('POST', '/v1/transit/encrypt/k', { plaintext: 'aGk=' }, as);
      expect(response.status).toBe(403);
      expect(response.body).toEqual({ errors: ['permission denied'] });
    }
  });

  it('encrypts base64 plaintext to vault:v1: ciphertexts, decrypts, rotates, rewraps and retires versions', async () => {
    const plaintext = Buffer.from('a data key').toString('base64');
    const encrypted = await call('POST', '/v1/transit/encrypt/app', { plaintext });
    expect(encrypted.status).toBe(200);
    const ciphertext = String(field(encrypted.body, 'data', 'ciphertext'));
    expect(ciphertext).toMatch(/^vault:v1:[A-Za-z0-9+/]+=*$/);
    expect(field(encrypted.body, 'data', 'key_version')).toBe(1);
    expect(
      field((await call('POST', '/v1/transit/decrypt/app', { ciphertext })).body, 'data', 'plaintext'),
    ).toBe(plaintext);

    const rotated = await call('POST', '/v1/transit/keys/app/rotate');
    expect(field(rotated.body, 'data', 'latest_version')).toBe(2);
    expect(field((await call('GET', '/v1/transit/keys/app')).body, 'data', 'latest_version')).toBe(2);
    const rewrapped = await call('POST', '/v1/transit/rewrap/app', { ciphertext });
    const newer = String(field(rewrapped.body, 'data', 'ciphertext'));
    expect(newer).toMatch(/^vault:v2:/);
    expect(
      field((await call('POST', '/v1/transit/decrypt/app', { ciphertext: newer })).body, 'data', 'plaintext'),
    ).toBe(plaintext);

    await call('POST', '/v1/transit/keys/app/config', { min_decryption_version: 2 });
    const tooOld = await call('POST', '/v1/transit/decrypt/app', { ciphertext });
    expect(tooOld.status).toBe(400);
    expect(field(tooOld.body, 'errors')).toEqual([
      'ciphertext or signature version is disallowed by policy (too old)',
    ]);
  });

  it('answers 400 for a tampered ciphertext and 404 for an unknown key', async () => {
    const encrypted = await call('POST', '/v1/transit/encrypt/tamper', { plaintext: 'aGk=' });
    const ciphertext = String(field(encrypted.body, 'data', 'ciphertext'));
    const tampered = `${ciphertext.slice(0, -6)}AAAA==`;
    const refused = await call('POST', '/v1/transit/decrypt/tamper', { ciphertext: tampered });
    expect(refused.status).toBe(400);
    expect((await call('GET', '/v1/transit/keys/never-created')).status).toBe(404);
  });

  it('logs in with AppRole and hands out a token that works', async () => {
    const role = vault.createAppRole();
    const refused = await call(
      'POST',
      '/v1/auth/approle/login',
      { role_id: role.roleId, secret_id: 'wrong' },
      null,
    );
    expect(refused.status).toBe(400);
    const login = await call(
      'POST',
      '/v1/auth/approle/login',
      { role_id: role.roleId, secret_id: role.secretId },
      null,
    );
    expect(login.status).toBe(200);
    expect(field(login.body, 'auth', 'lease_duration')).toBe(3600);
    const clientToken = String(field(login.body, 'auth', 'client_token'));
    expect(
      (await call('POST', '/v1/transit/encrypt/approle', { plaintext: 'aGk=' }, clientToken)).status,
    ).toBe(200);
  });
});
