import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

// Field encryption: AES-256-GCM, a random 96-bit IV per value, and a self-describing format
//   v1:{keyId}:{iv}:{tag}:{ciphertext}   (base64url parts)
// so that keys can rotate: values name the key that sealed them. The additional authenticated data
// binds a value to its place (table, column, row); a ciphertext copied elsewhere fails to open.

const FORMAT_VERSION = 'v1';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;

export class KeyringError extends Error {
  override name = 'KeyringError';
}

export class DecryptionError extends Error {
  override name = 'DecryptionError';
}

/** Where a value lives; used as additional authenticated data. */
export interface FieldLocation {
  table: string;
  column: string;
  /** A stable key of the row, such as its id or another unique column. */
  row: string | number;
}

function associatedData(location: FieldLocation): Buffer {
  return Buffer.from(`${location.table}.${location.column}:${location.row}`, 'utf8');
}

export class Keyring {
  readonly #keys: ReadonlyMap<string, Buffer>;
  readonly currentKeyId: string;

  constructor(keys: ReadonlyMap<string, Buffer>, currentKeyId: string) {
    for (const [id, key] of keys) {
      if (!KEY_ID_PATTERN.test(id)) throw new KeyringError(`key id "${id}" must match ${KEY_ID_PATTERN}`);
      if (key.length !== KEY_BYTES) throw new KeyringError(`key "${id}" must be ${KEY_BYTES} bytes`);
    }
    if (!keys.has(currentKeyId))
      throw new KeyringError(`the current key "${currentKeyId}" is not in the keyring`);
    this.#keys = keys;
    this.currentKeyId = currentKeyId;
  }

  /**
   * Reads `ENCRYPTION_KEYS` ("id:base64key,id2:base64key") and `ENCRYPTION_CURRENT_KEY_ID`.
   * Fails closed: a missing or malformed key stops the caller; nothing is ever generated here.
   */
  static fromEnv(keysSpec: string | undefined, currentKeyId: string | undefined): Keyring {
    if (!keysSpec)
      throw new KeyringError('ENCRYPTION_KEYS is not set; refusing to run without encryption keys');
    const keys = new Map<string, Buffer>();
    for (const entry of keysSpec
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean)) {
      const separator = entry.indexOf(':');
      if (separator <= 0) throw new KeyringError('ENCRYPTION_KEYS entries must look like "id:base64key"');
      keys.set(entry.slice(0, separator), Buffer.from(entry.slice(separator + 1), 'base64'));
    }
    const current = currentKeyId ?? [...keys.keys()][0];
    if (!current) throw new KeyringError('ENCRYPTION_KEYS holds no key');
    return new Keyring(keys, current);
  }

  encrypt(plaintext: string, location: FieldLocation): string {
    const key = this.#keys.get(this.currentKeyId);
    if (!key) throw new KeyringError(`the current key "${this.currentKeyId}" is missing`);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(associatedData(location));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [FORMAT_VERSION, this.currentKeyId, iv, cipher.getAuthTag(), ciphertext]
      .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
      .join(':');
  }

  decrypt(sealed: string, location: FieldLocation): string {
    const [version, keyId, iv, tag, ciphertext, ...rest] = sealed.split(':');
    if (version !== FORMAT_VERSION || !keyId || !iv || !tag || ciphertext === undefined || rest.length > 0) {
      throw new DecryptionError('not an encrypted value of a known format');
    }
    const key = this.#keys.get(keyId);
    if (!key) throw new KeyringError(`the value was sealed with key "${keyId}", which is not in the keyring`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(associatedData(location));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([
        decipher.update(Buffer.from(ciphertext, 'base64url')),
        decipher.final(),
      ]).toString('utf8');
    } catch {
      throw new DecryptionError(`the value does not open at ${location.table}.${location.column}`);
    }
  }

  /**
   * Binary sealing for other formats (Temporal payloads): the caller stores the key id beside the
   * result. Encrypts with the current key; `openBytes` opens with whichever key the id names, so
   * rotation works as for fields. The result is iv (12 bytes) + ciphertext + tag (16 bytes).
   */
  sealBytes(plaintext: Uint8Array, additionalData: Uint8Array): { keyId: string; sealed: Buffer } {
    const key = this.#keys.get(this.currentKeyId);
    if (!key) throw new KeyringError(`the current key "${this.currentKeyId}" is missing`);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(additionalData);
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return { keyId: this.currentKeyId, sealed: Buffer.concat([iv, ciphertext, cipher.getAuthTag()]) };
  }

  openBytes(keyId: string, sealed: Uint8Array, additionalData: Uint8Array): Buffer {
    const key = this.#keys.get(keyId);
    if (!key) throw new KeyringError(`the value was sealed with key "${keyId}", which is not in the keyring`);
    if (sealed.length < IV_BYTES + TAG_BYTES) throw new DecryptionError('the sealed value is too short');
    const bytes = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES));
      decipher.setAAD(additionalData);
      decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
      return Buffer.concat([
        decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)),
        decipher.final(),
      ]);
    } catch {
      throw new DecryptionError('the sealed value does not open (wrong key, data or additional data)');
    }
  }

  /** The key id a sealed value names, so a re-encrypt pass can skip values already on the current key. */
  static keyIdOf(sealed: string): string | undefined {
    return sealed.split(':')[1];
  }
}

/** A fresh random key in the form ENCRYPTION_KEYS expects, for setup scripts and tests. */
export function generateKey(): string {
  return randomBytes(KEY_BYTES).toString('base64');
}

export * from './env.js';
export * from './key-provider.js';
export * from './key-provider-config.js';
export * from './vault-transit-client.js';
export * from './vault-transit-provider.js';
