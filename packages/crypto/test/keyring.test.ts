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
