import { FakeVault } from '@autoflow/fakes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createKeyProvider,
  DecryptionError,
  EnvKeyProvider,
  generateKey,
  Keyring,
  KeyringError,
  VaultError,
  VaultTransitClient,
  VaultTransitKeyProvider,
} from '../src/index.js';

const place = { table: 'credentials', column: 'access_token', row: 42 };
const vault = new FakeVault();
let token: string;

beforeAll(async () => {
  await vault.start();
  token = vault.issueToken();
});

afterAll(async () => {
  await vault.stop();
});

function provider(keyName: string, options: { legacyKeyring?: Keyring; namespace?: string } = {}) {
  return new VaultTransitKeyProvider({
    transit: new VaultTransitClient({
      address: vault.address,
      auth: { token },
      keyName,
      ...(options.namespace ? { namespace: options.namespace } : {}),
    }),
    ...(options.legacyKeyring ? { legacyKeyring: options.legacyKeyring } : {}),
  });
}

describe('VaultTransitKeyProvider', () => {
  it('seals values with a data key wrapped by Transit, and sends Vault only the data key', async () => {
    vault.createKey('seal');
    const keys = provider('seal');
    const sealed = await Promise.all(
      Array.from({ length: 5 }, (_, index) => keys.encrypt(`ya29.secret-${index}`, { ...place, row: index })),
    );
    for (const value of sealed) {
      expect(value).toMatch(/^v2:vault-transit:1:[A-Za-z0-9+/=]+:[\w-]+:[\w-]+:[\w-]+$/);
      expect(value).not.toContain('secret');
    }
    // One data key for the five values: one Transit call, not one per value.
    expect(vault.count('encrypt')).toBe(1);
    expect(
      await Promise.all(sealed.map((value, index) => keys.decrypt(value, { ...place, row: index }))),
    ).toEqual(Array.from({ length: 5 }, (_, index) => `ya29.secret-${index}`));
    expect(vault.count('decrypt')).toBe(0);
  });

  it('opens another process’s values, asking Transit once per data key', async () => {
    vault.createKey('share');
    const writer = provider('share');
    const sealed = await Promise.all(
      Array.from({ length: 4 }, (_, index) => writer.encrypt(`value-${index}`, { ...place, row: index })),
    );
    const reader = provider('share');
    const before = vault.count('decrypt');
    for (let round = 0; round < 3; round++) {
      const opened = await Promise.all(
        sealed.map((value, index) => reader.decrypt(value, { ...place, row: index })),
      );
      expect(opened).toEqual(['value-0', 'value-1', 'value-2', 'value-3']);
    }
    expect(vault.count('decrypt') - before).toBe(1);
  });

  it('refuses a value moved to another row, or whose wrapped key was tampered with', async () => {
    vault.createKey('bind');
    const keys = provider('bind');
    const sealed = await keys.encrypt('secret', place);
    await expect(keys.decrypt(sealed, { ...place, row: 43 })).rejects.toThrow(DecryptionError);
    const parts = sealed.split(':');
    parts[3] = Buffer.from('x'.repeat(60)).toString('base64');
    await expect(provider('bind').decrypt(parts.join(':'), place)).rejects.toThrow(DecryptionError);
  });

  it('after a Transit rotation, reseal rewraps data keys to the newest version and values still open', async () => {
    vault.createKey('rotate');
    const keys = provider('rotate');
    const rows = [1, 2, 3];
    const sealed = await Promise.all(rows.map((row) => keys.encrypt(`token-${row}`, { ...place, row })));
    expect(await provider('rotate').reseal(sealed[0] ?? '', { ...place, row: 1 })).toBeUndefined();

    expect(vault.rotateKey('rotate')).toBe(2);
    const reencrypt = provider('rotate');
    expect(await reencrypt.describeNewestKey()).toBe('Transit key rotate v2');
    const rewrapsBefore = vault.count('rewrap');
    const resealed = await Promise.all(
      rows.map((row, index) => reencrypt.reseal(sealed[index] ?? '', { ...place, row })),
    );
    expect(vault.count('rewrap') - rewrapsBefore).toBe(1);
    for (const [index, value] of resealed.entries()) {
      expect(value).toMatch(/^v2:vault-transit:2:/);
      // Same data key, same ciphertext: only the wrapping moved.
      expect(value?.split(':').slice(4)).toEqual(sealed[index]?.split(':').slice(4));
    }
    expect(await reencrypt.reseal(resealed[0] ?? '', { ...place, row: 1 })).toBeUndefined();

    // Version 1 retired: rewrapped values open in a fresh process, the old ones no longer do.
    await fetch(`${vault.address}/v1/transit/keys/rotate/config`, {
      method: 'POST',
      headers: { 'x-vault-token': token, 'content-type': 'application/json' },
      body: JSON.stringify({ min_decryption_version: 2 }),
    });
    const fresh = provider('rotate');
    expect(
      await Promise.all(rows.map((row, index) => fresh.decrypt(resealed[index] ?? '', { ...place, row }))),
    ).toEqual(['token-1', 'token-2', 'token-3']);
    await expect(provider('rotate').decrypt(sealed[0] ?? '', { ...place, row: 1 })).rejects.toThrow(
      DecryptionError,
    );
  });

  it('reports a value that does not open instead of rewrapping it', async () => {
    vault.createKey('tampered');
    const sealed = await provider('tampered').encrypt('secret', place);
    vault.rotateKey('tampered');
    await expect(provider('tampered').reseal(sealed, { ...place, row: 99 })).rejects.toThrow(DecryptionError);
  });

  it('opens v1 values of the env keyring it replaced, and reseal moves them to Vault', async () => {
    vault.createKey('migrate');
    const legacyKeyring = Keyring.fromEnv(`k1:${generateKey()}`, undefined);
    const old = legacyKeyring.encrypt('from-the-env-keyring', place);
    const keys = provider('migrate', { legacyKeyring });
    expect(await keys.decrypt(old, place)).toBe('from-the-env-keyring');
    const moved = await keys.reseal(old, place);
    expect(moved).toMatch(/^v2:vault-transit:1:/);
    expect(await provider('migrate').decrypt(moved ?? '', place)).toBe('from-the-env-keyring');
    await expect(provider('migrate').decrypt(old, place)).rejects.toThrow(KeyringError);
  });

  it('logs in with AppRole, logs in again when the token lapses, and sends the namespace', async () => {
    vault.createKey('approle');
    const role = vault.createAppRole();
    vault.appRoleTokenTtlSeconds = 1;
    try {
      const keys = new VaultTransitKeyProvider({
        transit: new VaultTransitClient({
          address: vault.address,
          auth: role,
          keyName: 'approle',
          namespace: 'team-a',
        }),
        dataKeyLifetimeMs: 0,
      });
      const logins = () => vault.calls.filter((call) => call.path === '/v1/auth/approle/login').length;
      const before = logins();
      const first = await keys.encrypt('one', place);
      expect(logins() - before).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      const second = await keys.encrypt('two', place);
      expect(logins() - before).toBe(2);
      expect(await keys.decrypt(first, place)).toBe('one');
      expect(await keys.decrypt(second, place)).toBe('two');
      expect(vault.calls.at(-1)?.namespace).toBe('team-a');
    } finally {
      vault.appRoleTokenTtlSeconds = 3600;
    }
  });

  it('fails with a VaultError, not as an unreadable value, when Vault refuses or cannot be reached', async () => {
    vault.createKey('down');
    const sealed = await provider('down').encrypt('secret', place);
    const refused = new VaultTransitKeyProvider({
      transit: new VaultTransitClient({
        address: vault.address,
        auth: { token: 'hvs.wrong' },
        keyName: 'down',
      }),
    });
    await expect(refused.decrypt(sealed, place)).rejects.toMatchObject({ name: 'VaultError', status: 403 });
    const unreachable = new VaultTransitKeyProvider({
      transit: new VaultTransitClient({ address: 'http://127.0.0.1:9', auth: { token }, keyName: 'down' }),
    });
    await expect(unreachable.decrypt(sealed, place)).rejects.toThrow(VaultError);
    await expect(unreachable.encrypt('x', place)).rejects.toThrow(VaultError);
  });
});

describe('createKeyProvider', () => {
  it('keeps the env keyring as the default', async () => {
    const keys = createKeyProvider({ ENCRYPTION_KEYS: `k1:${generateKey()}` });
    expect(keys).toBeInstanceOf(EnvKeyProvider);
    const sealed = await keys.encrypt('secret', place);
    expect(sealed.startsWith('v1:k1:')).toBe(true);
    expect(await keys.reseal(sealed, place)).toBeUndefined();
    expect(await keys.describeNewestKey()).toBe('key k1');
  });

  it('selects Vault Transit by KEY_PROVIDER and fails closed, naming what is missing', () => {
    expect(() => createKeyProvider({ KEY_PROVIDER: 'vault-transit', VAULT_TRANSIT_KEY: 'k' })).toThrow(
      /VAULT_ADDR/,
    );
    expect(() =>
      createKeyProvider({ KEY_PROVIDER: 'vault-transit', VAULT_ADDR: vault.address, VAULT_TRANSIT_KEY: 'k' }),
    ).toThrow(/VAULT_TOKEN, or VAULT_ROLE_ID and VAULT_SECRET_ID/);
    expect(() =>
      createKeyProvider({ KEY_PROVIDER: 'vault-transit', VAULT_ADDR: vault.address, VAULT_TOKEN: token }),
    ).toThrow(/VAULT_TRANSIT_KEY/);
    expect(() => createKeyProvider({ KEY_PROVIDER: 'env' })).toThrow(/ENCRYPTION_KEYS/);
    expect(
      createKeyProvider({
        KEY_PROVIDER: 'vault-transit',
        VAULT_ADDR: vault.address,
        VAULT_TOKEN: token,
        VAULT_TRANSIT_KEY: 'k',
      }),
    ).toBeInstanceOf(VaultTransitKeyProvider);
  });
});
