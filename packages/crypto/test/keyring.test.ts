import { describe, expect, it } from 'vitest';
import { DecryptionError, generateKey, Keyring, KeyringError } from '../src/index.js';

const place = { table: 'workflows', column: 'webhook_secret', row: 7 };

describe('Keyring', () => {
  it('round-trips a value and never stores the plaintext', () => {
    const keyring = Keyring.fromEnv(`k1:${generateKey()}`, 'k1');
    const sealed = keyring.encrypt('whsec_top-secret', place);
    expect(sealed.startsWith('v1:k1:')).toBe(true);
    expect(sealed).not.toContain('top-secret');
    expect(keyring.decrypt(sealed, place)).toBe('whsec_top-secret');
  });

  it('refuses a value moved to another row', () => {
    const keyring = Keyring.fromEnv(`k1:${generateKey()}`, undefined);
    const sealed = keyring.encrypt('secret', place);
    expect(() => keyring.decrypt(sealed, { ...place, row: 8 })).toThrow(DecryptionError);
  });

  it('opens values sealed with an older key after rotation', () => {
    const oldKey = generateKey();
    const sealed = Keyring.fromEnv(`old:${oldKey}`, 'old').encrypt('secret', place);
    const rotated = Keyring.fromEnv(`old:${oldKey},new:${generateKey()}`, 'new');
    expect(rotated.decrypt(sealed, place)).toBe('secret');
    expect(Keyring.keyIdOf(rotated.encrypt('secret', place))).toBe('new');
  });

  it('fails closed without keys', () => {
    expect(() => Keyring.fromEnv(undefined, undefined)).toThrow(KeyringError);
    expect(() => Keyring.fromEnv(`k1:${generateKey()}`, 'missing')).toThrow(/current key/);
    expect(() => Keyring.fromEnv('k1:c2hvcnQ=', 'k1')).toThrow(/32 bytes/);
  });
});

describe('Keyring bytes', () => {
  const aad = Buffer.from('owner:7');

  it('seals bytes with the current key and opens them with any known key', () => {
    const oldKey = generateKey();
    const { keyId, sealed } = Keyring.fromEnv(`old:${oldKey}`, 'old').sealBytes(Buffer.from('hello'), aad);
    expect(keyId).toBe('old');
    expect(sealed.includes(Buffer.from('hello'))).toBe(false);
    const rotated = Keyring.fromEnv(`old:${oldKey},new:${generateKey()}`, 'new');
    expect(rotated.openBytes('old', sealed, aad).toString()).toBe('hello');
    expect(rotated.sealBytes(Buffer.from('x'), aad).keyId).toBe('new');
  });

  it('refuses other additional data, a flipped bit and an unknown key', () => {
    const keyring = Keyring.fromEnv(`k1:${generateKey()}`, 'k1');
    const { sealed } = keyring.sealBytes(Buffer.from('hello'), aad);
    expect(() => keyring.openBytes('k1', sealed, Buffer.from('owner:8'))).toThrow(DecryptionError);
    const flipped = Buffer.from(sealed);
    flipped[14] = (flipped[14] ?? 0) ^ 1;
    expect(() => keyring.openBytes('k1', flipped, aad)).toThrow(DecryptionError);
    expect(() => keyring.openBytes('k2', sealed, aad)).toThrow(KeyringError);
    expect(() => keyring.openBytes('k1', Buffer.alloc(3), aad)).toThrow(DecryptionError);
  });
});
