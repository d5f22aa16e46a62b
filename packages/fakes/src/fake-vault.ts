import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { type FakeAnswer, FakeServer } from './local-server.js';

export interface VaultCall {
  method: string;
  path: string;
  /** The X-Vault-Namespace header, if any. */
  namespace: string | undefined;
  status: number;
}

interface TransitKey {
  /** versions[0] is version 1. */
  versions: { key: Buffer; createdAt: number }[];
  minDecryptionVersion: number;
}

/**
 * HashiCorp Vault as far as the Transit secrets engine and AppRole login go, on Vault's HTTP API:
 * `X-Vault-Token`, base64 plaintexts, `vault:v{n}:` ciphertexts (AES-256-GCM, nonce first), key
 * versions with rotate and min_decryption_version, `{data}` answers and `{errors: [...]}` failures.
 * https://developer.hashicorp.com/vault/api-docs/secret/transit
 */
export class FakeVault extends FakeServer {
  readonly calls: VaultCall[] = [];
  readonly #tokens = new Map<string, number>();
  readonly #roles = new Map<string, string>();
  readonly #keys = new Map<string, TransitKey>();
  /** Lease of AppRole tokens, in seconds. */
  appRoleTokenTtlSeconds = 3600;

  constructor(readonly mount = 'transit') {
    super();
  }

  get address(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** A token that never expires, as `vault token create` would hand out. */
  issueToken(): string {
    const token = `hvs.${randomBytes(18).toString('base64url')}`;
    this.#tokens.set(token, Number.POSITIVE_INFINITY);
    return token;
  }

  revokeToken(token: string): void {
    this.#tokens.delete(token);
  }

  /** An AppRole role; answers its role_id and a secret_id. */
  createAppRole(): { roleId: string; secretId: string } {
    const roleId = randomBytes(16).toString('hex');
    const secretId = randomBytes(16).toString('hex');
    this.#roles.set(roleId, secretId);
    return { roleId, secretId };
  }

  createKey(name: string): void {
    if (!this.#keys.has(name))
      this.#keys.set(name, {
        versions: [{ key: randomBytes(32), createdAt: Date.now() }],
        minDecryptionVersion: 1,
      });
  }

  rotateKey(name: string): number {
    const key = this.#keys.get(name);
    if (!key) throw new Error(`no Transit key ${name}`);
    key.versions.push({ key: randomBytes(32), createdAt: Date.now() });
    return key.versions.length;
  }

  latestVersion(name: string): number {
    return this.#keys.get(name)?.versions.length ?? 0;
  }

  /** Calls to one Transit operation ("encrypt", "decrypt", "rewrap", "keys") that succeeded. */
  count(operation: string): number {
    return this.calls.filter(
      (call) => call.status < 300 && call.path.startsWith(`/v1/${this.mount}/${operation}/`),
    ).length;
  }

  protected answer(request: IncomingMessage, raw: string): FakeAnswer {
    const url = new URL(request.url ?? '/', 'http://vault');
    const answer = this.#route(request.method ?? 'GET', url.pathname, request, raw);
    const namespace = request.headers['x-vault-namespace'];
    this.calls.push({
      method: request.method ?? 'GET',
      path: url.pathname,
      namespace: typeof namespace === 'string' ? namespace : undefined,
      status: answer.status,
    });
    return answer;
  }

  #route(method: string, path: string, request: IncomingMessage, raw: string): FakeAnswer {
    let body: Record<string, unknown> = {};
    try {
      const parsed: unknown = raw ? JSON.parse(raw) : {};
      if (typeof parsed === 'object' && parsed !== null) body = Object.fromEntries(Object.entries(parsed));
    } catch {
      return failure(400, 'failed to parse JSON input');
    }
    if (method === 'POST' && path === '/v1/auth/approle/login') return this.#login(body);

    const token = request.headers['x-vault-token'];
    const expiresAt = typeof token === 'string' ? this.#tokens.get(token) : undefined;
    if (expiresAt === undefined || expiresAt < Date.now()) return failure(403, 'permission denied');

    const prefix = `/v1/${this.mount}/`;
    if (!path.startsWith(prefix)) return failure(404, `no handler for route "${path.slice(4)}"`);
    const [operation, name, action, ...rest] = path.slice(prefix.length).split('/');
    if (!operation || !name || rest.length > 0) return failure(404, 'unsupported path');
    switch (`${method} ${operation}${action ? `/${action}` : ''}`) {
      case 'POST encrypt':
        return this.#encrypt(name, body);
      case 'POST decrypt':
        return this.#decrypt(name, body);
      case 'POST rewrap':
        return this.#rewrap(name, body);
      case 'GET keys':
        return this.#keys.has(name) ? data(this.#describe(name)) : { status: 404, ...json({ errors: [] }) };
      case 'POST keys':
        this.createKey(name);
        return data(this.#describe(name));
      case 'POST keys/rotate':
        if (!this.#keys.has(name)) return failure(400, 'key not found');
        this.rotateKey(name);
        return data(this.#describe(name));
      case 'POST keys/config': {
        const key = this.#keys.get(name);
        if (!key) return failure(400, 'key not found');
        const min = Number(body.min_decryption_version ?? key.minDecryptionVersion);
        if (!Number.isInteger(min) || min < 1 || min > key.versions.length)
          return failure(400, 'min decryption version must be between 1 and the latest version');
        key.minDecryptionVersion = min;
        return data(this.#describe(name));
      }
      default:
        return failure(405, 'unsupported operation');
    }
  }

  #login(body: Record<string, unknown>): FakeAnswer {
    const roleId = typeof body.role_id === 'string' ? body.role_id : '';
    const secretId = typeof body.secret_id === 'string' ? body.secret_id : '';
    if (!roleId || this.#roles.get(roleId) !== secretId) return failure(400, 'invalid role or secret ID');
    const clientToken = `hvs.${randomBytes(18).toString('base64url')}`;
    this.#tokens.set(clientToken, Date.now() + this.appRoleTokenTtlSeconds * 1000);
    return {
      status: 200,
      ...json({
        auth: {
          client_token: clientToken,
          accessor: randomBytes(12).toString('base64url'),
          policies: ['default', 'autoflow-transit'],
          token_policies: ['default', 'autoflow-transit'],
          metadata: { role_name: 'autoflow' },
          lease_duration: this.appRoleTokenTtlSeconds,
          renewable: true,
        },
      }),
    };
  }

  #encrypt(name: string, body: Record<string, unknown>): FakeAnswer {
    if (typeof body.plaintext !== 'string') return failure(400, 'missing plaintext to encrypt');
    // Vault creates the key on first encrypt (upsert) when the policy allows it.
    this.createKey(name);
    return data(this.#seal(name, Buffer.from(body.plaintext, 'base64')));
  }

  #decrypt(name: string, body: Record<string, unknown>): FakeAnswer {
    const opened = this.#open(name, body.ciphertext);
    return 'error' in opened
      ? failure(400, opened.error)
      : data({ plaintext: opened.plaintext.toString('base64') });
  }

  #rewrap(name: string, body: Record<string, unknown>): FakeAnswer {
    const opened = this.#open(name, body.ciphertext);
    return 'error' in opened ? failure(400, opened.error) : data(this.#seal(name, opened.plaintext));
  }

  #seal(name: string, plaintext: Buffer): { ciphertext: string; key_version: number } {
    const key = this.#keys.get(name);
    const version = key?.versions.length ?? 0;
    const latest = key?.versions[version - 1];
    if (!latest) throw new Error(`no Transit key ${name}`);
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', latest.key, nonce);
    const sealed = Buffer.concat([nonce, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    return { ciphertext: `vault:v${version}:${sealed.toString('base64')}`, key_version: version };
  }

  #open(name: string, ciphertext: unknown): { plaintext: Buffer } | { error: string } {
    const key = this.#keys.get(name);
    if (!key) return { error: 'encryption key not found' };
    if (typeof ciphertext !== 'string') return { error: 'missing ciphertext to decrypt' };
    const match = /^vault:v(\d+):([A-Za-z0-9+/=]+)$/.exec(ciphertext);
    if (!match?.[1] || !match[2]) return { error: 'invalid ciphertext: no prefix' };
    const version = Number(match[1]);
    if (version < key.minDecryptionVersion)
      return { error: 'ciphertext or signature version is disallowed by policy (too old)' };
    const versionKey = key.versions[version - 1];
    if (!versionKey) return { error: 'invalid key version' };
    const sealed = Buffer.from(match[2], 'base64');
    if (sealed.length < 28) return { error: 'invalid ciphertext length' };
    try {
      const decipher = createDecipheriv('aes-256-gcm', versionKey.key, sealed.subarray(0, 12));
      decipher.setAuthTag(sealed.subarray(sealed.length - 16));
      return {
        plaintext: Buffer.concat([
          decipher.update(sealed.subarray(12, sealed.length - 16)),
          decipher.final(),
        ]),
      };
    } catch {
      return { error: 'cipher: message authentication failed' };
    }
  }

  #describe(name: string): Record<string, unknown> {
    const key = this.#keys.get(name);
    return {
      name,
      type: 'aes256-gcm96',
      latest_version: key?.versions.length ?? 0,
      min_decryption_version: key?.minDecryptionVersion ?? 1,
      min_encryption_version: 0,
      keys: Object.fromEntries(
        (key?.versions ?? []).map((version, index) => [
          String(index + 1),
          Math.floor(version.createdAt / 1000),
        ]),
      ),
      deletion_allowed: false,
      derived: false,
      exportable: false,
      supports_encryption: true,
      supports_decryption: true,
      supports_derivation: true,
      supports_signing: false,
    };
  }
}

function json(body: unknown): { headers: Record<string, string>; body: string } {
  return { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

function data(payload: unknown): FakeAnswer {
  return {
    status: 200,
    ...json({
      request_id: randomBytes(8).toString('hex'),
      lease_id: '',
      renewable: false,
      lease_duration: 0,
      data: payload,
      wrap_info: null,
      warnings: null,
      auth: null,
    }),
  };
}

function failure(status: number, message: string): FakeAnswer {
  return { status, ...json({ errors: [message] }) };
}
