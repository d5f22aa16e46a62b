import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { DecryptionError, type FieldLocation, type Keyring, KeyringError } from './index.js';
import type { KeyProvider } from './key-provider.js';
import { transitKeyVersionOf, VaultError, type VaultTransitClient } from './vault-transit-client.js';

// Envelope encryption with Vault Transit. Each process draws a random 256-bit data key, has Transit
// wrap it (encrypt with the Transit key), and seals values locally with AES-256-GCM under that data key:
//   v2:vault-transit:{transitKeyVersion}:{wrappedDataKey}:{iv}:{tag}:{ciphertext}
// The wrapped key travels with the value, so any process opens it by asking Transit to unwrap the data
// key once (then it is cached in memory), and `pnpm reencrypt` moves a value to a newer Transit key
// version with `rewrap` without ever seeing the data key. The additional data binds the value to its
// place exactly as v1 values are bound. No plaintext secret ever goes to Vault, only data keys.

const FORMAT_VERSION = 'v2';
const PROVIDER = 'vault-transit';
const TRANSIT_PREFIX = 'vault:v';
const DATA_KEY_BYTES = 32;
const IV_BYTES = 12;

export interface VaultTransitKeyProviderOptions {
  transit: VaultTransitClient;
  /** Opens v1 values written with ENCRYPTION_KEYS before the switch to Vault; `pnpm reencrypt` moves them. */
  legacyKeyring?: Keyring;
  /** A process draws a new data key this often, so a rotated Transit key is used without a restart. */
  dataKeyLifetimeMs?: number;
  /** Unwrapped data keys kept in memory (one per process and lifetime that wrote values). */
  cachedDataKeys?: number;
}

interface DataKey {
  key: Buffer;
  wrapped: string;
  keyVersion: number;
  createdAt: number;
}

interface SealedV2 {
  keyVersion: number;
  wrapped: string;
  iv: string;
  tag: string;
  ciphertext: string;
}

function associatedData(location: FieldLocation): Buffer {
  return Buffer.from(`${location.table}.${location.column}:${location.row}`, 'utf8');
}

function parseV2(sealed: string): SealedV2 | undefined {
  const [version, provider, keyVersion, wrappedBody, iv, tag, ciphertext, ...rest] = sealed.split(':');
  if (version !== FORMAT_VERSION || provider !== PROVIDER || rest.length > 0) return undefined;
  if (!keyVersion || !/^\d+$/.test(keyVersion) || !wrappedBody || !iv || !tag || ciphertext === undefined)
    return undefined;
  return {
    keyVersion: Number(keyVersion),
    wrapped: `${TRANSIT_PREFIX}${keyVersion}:${wrappedBody}`,
    iv,
    tag,
    ciphertext,
  };
}

function formatV2(value: SealedV2): string {
  const wrappedBody = value.wrapped.slice(`${TRANSIT_PREFIX}${value.keyVersion}:`.length);
  return [
    FORMAT_VERSION,
    PROVIDER,
    value.keyVersion,
    wrappedBody,
    value.iv,
    value.tag,
    value.ciphertext,
  ].join(':');
}

export class VaultTransitKeyProvider implements KeyProvider {
  readonly kind = 'vault-transit';
  readonly #transit: VaultTransitClient;
  readonly #legacy: Keyring | undefined;
  readonly #lifetimeMs: number;
  readonly #cacheLimit: number;
  #dataKey: Promise<DataKey> | undefined;
  /** Unwrapped data keys by their wrapped form, oldest first (a small LRU). */
  readonly #unwrapped = new Map<string, Promise<Buffer>>();
  /** Wrapped data keys already rewrapped in this process, so a reencrypt pass calls rewrap once per key. */
  readonly #rewrapped = new Map<string, Promise<{ wrapped: string; keyVersion: number }>>();
  #latestVersion: Promise<number> | undefined;

  constructor(options: VaultTransitKeyProviderOptions) {
    this.#transit = options.transit;
    this.#legacy = options.legacyKeyring;
    this.#lifetimeMs = options.dataKeyLifetimeMs ?? 60 * 60 * 1000;
    this.#cacheLimit = options.cachedDataKeys ?? 1000;
  }

  async encrypt(plaintext: string, location: FieldLocation): Promise<string> {
    const dataKey = await this.#currentDataKey();
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', dataKey.key, iv);
    cipher.setAAD(associatedData(location));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return formatV2({
      keyVersion: dataKey.keyVersion,
      wrapped: dataKey.wrapped,
      iv: iv.toString('base64url'),
      tag: cipher.getAuthTag().toString('base64url'),
      ciphertext: ciphertext.toString('base64url'),
    });
  }

  async decrypt(sealed: string, location: FieldLocation): Promise<string> {
    if (sealed.startsWith('v1:')) {
      if (!this.#legacy)
        throw new KeyringError(
          'a v1 value needs ENCRYPTION_KEYS (the env keyring) next to KEY_PROVIDER=vault-transit',
        );
      return this.#legacy.decrypt(sealed, location);
    }
    const value = parseV2(sealed);
    if (!value) throw new DecryptionError('not an encrypted value of a known format');
    const key = await this.#unwrap(value.wrapped);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(value.iv, 'base64url'));
      decipher.setAAD(associatedData(location));
      decipher.setAuthTag(Buffer.from(value.tag, 'base64url'));
      return Buffer.concat([
        decipher.update(Buffer.from(value.ciphertext, 'base64url')),
        decipher.final(),
      ]).toString('utf8');
    } catch {
      throw new DecryptionError(`the value does not open at ${location.table}.${location.column}`);
    }
  }

  async reseal(sealed: string, location: FieldLocation): Promise<string | undefined> {
    // Opening first proves the value belongs here: a tampered or moved value is reported, not rewrapped.
    const plaintext = await this.decrypt(sealed, location);
    const value = parseV2(sealed);
    if (!value) return this.encrypt(plaintext, location);
    if (value.keyVersion >= (await this.#latest())) return undefined;
    const rewrapped = await this.#rewrap(value.wrapped);
    // Same data key under a new wrapping: this process need not ask Transit to unwrap it again.
    this.#remember(rewrapped.wrapped, this.#unwrap(value.wrapped));
    return formatV2({ ...value, ...rewrapped });
  }

  async describeNewestKey(): Promise<string> {
    return `Transit key ${this.#transit.keyName} v${await this.#latest()}`;
  }

  #latest(): Promise<number> {
    if (this.#latestVersion) return this.#latestVersion;
    const reading = this.#transit.latestKeyVersion();
    this.#latestVersion = reading;
    reading.catch(() => {
      if (this.#latestVersion === reading) this.#latestVersion = undefined;
    });
    return reading;
  }

  #currentDataKey(): Promise<DataKey> {
    const current = this.#dataKey;
    if (current) {
      return current.then((dataKey) => {
        if (Date.now() - dataKey.createdAt < this.#lifetimeMs) return dataKey;
        if (this.#dataKey === current) this.#dataKey = undefined;
        return this.#currentDataKey();
      });
    }
    const drawn = this.#drawDataKey();
    this.#dataKey = drawn;
    drawn.catch(() => {
      if (this.#dataKey === drawn) this.#dataKey = undefined;
    });
    return drawn;
  }

  async #drawDataKey(): Promise<DataKey> {
    const key = randomBytes(DATA_KEY_BYTES);
    const { ciphertext, keyVersion } = await this.#transit.encrypt(key);
    if (
      transitKeyVersionOf(ciphertext) !== keyVersion ||
      ciphertext.includes(':', `${TRANSIT_PREFIX}${keyVersion}:`.length)
    )
      throw new VaultError('Transit answered a ciphertext of an unexpected shape', 502);
    this.#remember(ciphertext, Promise.resolve(key));
    return { key, wrapped: ciphertext, keyVersion, createdAt: Date.now() };
  }

  #unwrap(wrapped: string): Promise<Buffer> {
    const cached = this.#unwrapped.get(wrapped);
    if (cached) {
      this.#unwrapped.delete(wrapped);
      this.#unwrapped.set(wrapped, cached);
      return cached;
    }
    const unwrapping = this.#transit.decrypt(wrapped).then(
      (key) => {
        if (key.length !== DATA_KEY_BYTES)
          throw new DecryptionError('the wrapped data key is not a 256-bit key');
        return key;
      },
      (error: unknown) => {
        // Transit refuses a ciphertext it cannot open with 400: the value is unreadable, not Vault down.
        if (error instanceof VaultError && error.status === 400)
          throw new DecryptionError(`the data key does not unwrap: ${error.message}`);
        throw error;
      },
    );
    this.#remember(wrapped, unwrapping);
    unwrapping.catch(() => {
      if (this.#unwrapped.get(wrapped) === unwrapping) this.#unwrapped.delete(wrapped);
    });
    return unwrapping;
  }

  #remember(wrapped: string, key: Promise<Buffer>): void {
    this.#unwrapped.set(wrapped, key);
    while (this.#unwrapped.size > this.#cacheLimit) {
      const oldest = this.#unwrapped.keys().next().value;
      if (oldest === undefined) break;
      this.#unwrapped.delete(oldest);
    }
  }

  #rewrap(wrapped: string): Promise<{ wrapped: string; keyVersion: number }> {
    let rewrapping = this.#rewrapped.get(wrapped);
    if (!rewrapping) {
      rewrapping = this.#transit
        .rewrap(wrapped)
        .then(({ ciphertext, keyVersion }) => ({ wrapped: ciphertext, keyVersion }));
      this.#rewrapped.set(wrapped, rewrapping);
      rewrapping.catch(() => this.#rewrapped.delete(wrapped));
    }
    return rewrapping;
  }
}
