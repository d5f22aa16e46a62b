// A small client of HashiCorp Vault's Transit secrets engine over its HTTP API: encrypt, decrypt and
// rewrap with a named key, read the key's newest version, and log in with a token or AppRole.
// https://developer.hashicorp.com/vault/api-docs/secret/transit

export class VaultError extends Error {
  override name = 'VaultError';

  constructor(
    message: string,
    /** Vault's HTTP status; 0 when Vault could not be reached. */
    readonly status: number,
  ) {
    super(message);
  }
}

export type VaultAuth = { token: string } | { roleId: string; secretId: string };

export interface VaultTransitClientOptions {
  /** Vault's address, e.g. https://vault.example.com:8200 (VAULT_ADDR). */
  address: string;
  auth: VaultAuth;
  /** Where the Transit engine is mounted (VAULT_TRANSIT_MOUNT, default "transit"). */
  mount?: string;
  /** The Transit key that wraps data keys (VAULT_TRANSIT_KEY). */
  keyName: string;
  /** Vault Enterprise namespace (VAULT_NAMESPACE). */
  namespace?: string;
  /** Per request; Vault answers Transit calls in milliseconds. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export interface TransitCiphertext {
  /** `vault:v{version}:{base64}` as Transit returns it. */
  ciphertext: string;
  keyVersion: number;
}

interface Session {
  token: string;
  /** When an AppRole token should be replaced (before its lease ends); never for a given token. */
  renewAt: number;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function field(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const key of path) current = isRecord(current) ? current[key] : undefined;
  return current;
}

/** The version a Transit ciphertext names (`vault:v3:…` → 3). */
export function transitKeyVersionOf(ciphertext: string): number | undefined {
  const match = /^vault:v(\d+):/.exec(ciphertext);
  return match?.[1] ? Number(match[1]) : undefined;
}

export class VaultTransitClient {
  readonly keyName: string;
  readonly #options: VaultTransitClientOptions;
  readonly #fetch: typeof fetch;
  #session: Promise<Session> | undefined;

  constructor(options: VaultTransitClientOptions) {
    this.#options = options;
    this.keyName = options.keyName;
    this.#fetch = options.fetch ?? fetch;
  }

  async encrypt(plaintext: Buffer): Promise<TransitCiphertext> {
    const data = await this.#call('POST', `encrypt/${this.keyName}`, {
      plaintext: plaintext.toString('base64'),
    });
    return this.#ciphertextFrom(data);
  }

  async decrypt(ciphertext: string): Promise<Buffer> {
    const data = await this.#call('POST', `decrypt/${this.keyName}`, { ciphertext });
    const plaintext = field(data, 'plaintext');
    if (typeof plaintext !== 'string') throw new VaultError('Transit decrypt answered no plaintext', 502);
    return Buffer.from(plaintext, 'base64');
  }

  /** The same plaintext under the key's newest version; Vault never shows it to us. */
  async rewrap(ciphertext: string): Promise<TransitCiphertext> {
    const data = await this.#call('POST', `rewrap/${this.keyName}`, { ciphertext });
    return this.#ciphertextFrom(data);
  }

  async latestKeyVersion(): Promise<number> {
    const data = await this.#call('GET', `keys/${this.keyName}`);
    const latest = field(data, 'latest_version');
    if (typeof latest !== 'number')
      throw new VaultError('Transit answered no latest_version for the key', 502);
    return latest;
  }

  #ciphertextFrom(data: unknown): TransitCiphertext {
    const ciphertext = field(data, 'ciphertext');
    if (typeof ciphertext !== 'string') throw new VaultError('Transit answered no ciphertext', 502);
    const keyVersion = field(data, 'key_version');
    const version = typeof keyVersion === 'number' ? keyVersion : transitKeyVersionOf(ciphertext);
    if (version === undefined) throw new VaultError('Transit answered a ciphertext without a version', 502);
    return { ciphertext, keyVersion: version };
  }

  async #call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    const mount = (this.#options.mount ?? 'transit').replace(/^\/+|\/+$/g, '');
    const session = await this.#currentSession();
    const answer = await this.#request(method, `/v1/${mount}/${path}`, body, session.token);
    if (answer.status === 403 && 'roleId' in this.#options.auth) {
      // The AppRole token expired or was revoked early: log in again once.
      this.#session = undefined;
      const fresh = await this.#currentSession();
      return this.#dataOf(await this.#request(method, `/v1/${mount}/${path}`, body, fresh.token), path);
    }
    return this.#dataOf(answer, path);
  }

  #dataOf(answer: { status: number; body: unknown }, path: string): unknown {
    if (answer.status >= 200 && answer.status < 300) return field(answer.body, 'data');
    const errors = field(answer.body, 'errors');
    const reason = Array.isArray(errors) ? errors.filter((item) => typeof item === 'string').join('; ') : '';
    const operation = path.split('/')[0];
    throw new VaultError(
      `Vault Transit ${operation} failed: HTTP ${answer.status}${reason ? `: ${reason}` : ''}`,
      answer.status,
    );
  }

  #currentSession(): Promise<Session> {
    const auth = this.#options.auth;
    if ('token' in auth) return Promise.resolve({ token: auth.token, renewAt: Number.POSITIVE_INFINITY });
    const current = this.#session;
    if (current) {
      return current.then((session) => {
        if (Date.now() < session.renewAt) return session;
        if (this.#session === current) this.#session = undefined;
        return this.#currentSession();
      });
    }
    const login = this.#appRoleLogin(auth.roleId, auth.secretId);
    this.#session = login;
    login.catch(() => {
      if (this.#session === login) this.#session = undefined;
    });
    return login;
  }

  async #appRoleLogin(roleId: string, secretId: string): Promise<Session> {
    const answer = await this.#request('POST', '/v1/auth/approle/login', {
      role_id: roleId,
      secret_id: secretId,
    });
    if (answer.status < 200 || answer.status >= 300)
      throw new VaultError(`Vault AppRole login failed: HTTP ${answer.status}`, answer.status);
    const token = field(answer.body, 'auth', 'client_token');
    const lease = field(answer.body, 'auth', 'lease_duration');
    if (typeof token !== 'string' || !token)
      throw new VaultError('Vault AppRole login answered no token', 502);
    // Log in again at 80% of the lease; a lease of 0 means the token does not expire.
    const renewAt =
      typeof lease === 'number' && lease > 0 ? Date.now() + lease * 800 : Number.POSITIVE_INFINITY;
    return { token, renewAt };
  }

  async #request(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    token?: string,
  ): Promise<{ status: number; body: unknown }> {
    const headers: Record<string, string> = {};
    if (token) headers['x-vault-token'] = token;
    if (this.#options.namespace) headers['x-vault-namespace'] = this.#options.namespace;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await this.#fetch(new URL(path, this.#options.address), {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.#options.timeoutMs ?? 10_000),
      });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new VaultError(`Vault could not be reached: ${reason}`, 0);
    }
    const text = await response.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // Not JSON (a proxy's error page): the status says enough.
    }
    return { status: response.status, body: parsed };
  }
}
