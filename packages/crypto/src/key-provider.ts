import { DecryptionError, type FieldLocation, Keyring } from './index.js';

/**
 * What code that stores or reads a secret needs: seal a value for its place, open it again. The env
 * `Keyring` fits as it is (synchronously); a remote provider answers promises, so callers `await`.
 */
export interface FieldEncryption {
  encrypt(plaintext: string, location: FieldLocation): string | Promise<string>;
  decrypt(sealed: string, location: FieldLocation): string | Promise<string>;
}

/** Where the keys live: the env keyring (default) or HashiCorp Vault Transit. */
export interface KeyProvider extends FieldEncryption {
  readonly kind: 'env' | 'vault-transit';
  encrypt(plaintext: string, location: FieldLocation): Promise<string>;
  decrypt(sealed: string, location: FieldLocation): Promise<string>;
  /**
   * The value sealed under the provider's newest key, or undefined when it already is. Throws
   * DecryptionError for a value that does not open at its place (`pnpm reencrypt` reports those).
   */
  reseal(sealed: string, location: FieldLocation): Promise<string | undefined>;
  /** The newest key, as `pnpm reencrypt` reports it ("key k2", "Transit key autoflow v3"). */
  describeNewestKey(): Promise<string>;
}

/** The default provider: AES-256-GCM keys from ENCRYPTION_KEYS, values `v1:{keyId}:…`. */
export class EnvKeyProvider implements KeyProvider {
  readonly kind = 'env';

  constructor(readonly keyring: Keyring) {}

  async encrypt(plaintext: string, location: FieldLocation): Promise<string> {
    return this.keyring.encrypt(plaintext, location);
  }

  async decrypt(sealed: string, location: FieldLocation): Promise<string> {
    return this.keyring.decrypt(sealed, location);
  }

  async reseal(sealed: string, location: FieldLocation): Promise<string | undefined> {
    if (Keyring.keyIdOf(sealed) === this.keyring.currentKeyId && sealed.startsWith('v1:')) return undefined;
    if (!sealed.startsWith('v1:'))
      throw new DecryptionError('not a value of the env keyring (KEY_PROVIDER=env reads only v1: values)');
    return this.keyring.encrypt(this.keyring.decrypt(sealed, location), location);
  }

  async describeNewestKey(): Promise<string> {
    return `key ${this.keyring.currentKeyId}`;
  }
}
