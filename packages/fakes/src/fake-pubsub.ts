import { randomBytes, randomInt } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { type FakeAnswer, FakeServer } from './local-server.js';

export interface PushTokenOverrides {
  /** Signed with a key Google never published, under the real key's kid. */
  forged?: boolean;
  audience?: string;
  /** Issued and expired well beyond any verifier's clock tolerance. */
  expired?: boolean;
  email?: string;
  emailVerified?: boolean;
  issuer?: string;
}

export interface GmailNotification {
  emailAddress: string;
  historyId: bigint;
}

export interface EnvelopeOptions {
  /** Gmail writes a JSON number; `'string'` covers clients that quote it. Default `'number'`. */
  historyIdAs?: 'number' | 'string';
}

export interface PushOptions extends EnvelopeOptions {
  token?: PushTokenOverrides;
  withoutToken?: boolean;
}

const GOOGLE_ISSUER = 'https://accounts.google.com';
const TOKEN_LIFETIME_SECONDS = 3600;
/** Past the 5-minute skew verifiers commonly allow, so an expired token is unambiguously expired. */
const EXPIRED_BY_SECONDS = 20 * 60;

/**
 * Google Cloud Pub/Sub push delivery of Gmail notifications, authenticated the way Pub/Sub does it: an
 * RS256 OIDC token from accounts.google.com for a service account, verifiable against the JWK Set this
 * server publishes at `/oauth2/v3/certs` (the path of Google's www.googleapis.com/oauth2/v3/certs).
 */
export class FakePubSubPush extends FakeServer {
  readonly audience: string;
  readonly serviceAccount: string;
  /** The service account's numeric unique id, Google's `sub` and `azp` for its tokens. */
  readonly serviceAccountId = numericId(21);
  readonly subscription = 'projects/autoflow-test/subscriptions/gmail-push';
  readonly deliveries: { status: number; at: number }[] = [];
  readonly keyId = randomBytes(20).toString('hex');
  #signingKey: CryptoKey | undefined;
  #forgerKey: CryptoKey | undefined;
  #publicJwk: JWK | undefined;

  constructor(options: { audience: string; serviceAccount: string }) {
    super();
    this.audience = options.audience;
    this.serviceAccount = options.serviceAccount;
  }

  get jwksUrl(): string {
    return `http://127.0.0.1:${this.port}/oauth2/v3/certs`;
  }

  override async start(): Promise<void> {
    // Public keys export regardless; the private keys never leave this object.
    const signing = await generateKeyPair('RS256');
    const forger = await generateKeyPair('RS256');
    this.#signingKey = signing.privateKey;
    this.#forgerKey = forger.privateKey;
    this.#publicJwk = { ...(await exportJWK(signing.publicKey)), kid: this.keyId, alg: 'RS256', use: 'sig' };
    await super.start();
  }

  /** An OIDC token with the claims Pub/Sub push puts in its Authorization header. */
  async token(overrides: PushTokenOverrides = {}): Promise<string> {
    const key = overrides.forged ? this.#forgerKey : this.#signingKey;
    if (!key) throw new Error('FakePubSubPush.start() must run before token()');
    const now = Math.floor(Date.now() / 1000);
    const issuedAt = overrides.expired ? now - TOKEN_LIFETIME_SECONDS - EXPIRED_BY_SECONDS : now;
    return new SignJWT({
      azp: this.serviceAccountId,
      email: overrides.email ?? this.serviceAccount,
      email_verified: overrides.emailVerified ?? true,
    })
      .setProtectedHeader({ alg: 'RS256', kid: this.keyId, typ: 'JWT' })
      .setIssuer(overrides.issuer ?? GOOGLE_ISSUER)
      .setAudience(overrides.audience ?? this.audience)
      .setSubject(this.serviceAccountId)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + TOKEN_LIFETIME_SECONDS)
      .sign(key);
  }

  /**
   * The raw JSON body of one push. The notification is written as text because a historyId above
   * 2^53 must keep every digit, which JSON.stringify of a number could not.
   */
  envelope(notification: GmailNotification, options: EnvelopeOptions = {}): string {
    const historyId =
      options.historyIdAs === 'string' ? `"${notification.historyId}"` : notification.historyId.toString();
    const data = `{"emailAddress":${JSON.stringify(notification.emailAddress)},"historyId":${historyId}}`;
    const messageId = numericId(16);
    const publishTime = new Date().toISOString();
    return JSON.stringify({
      message: {
        data: Buffer.from(data).toString('base64'),
        messageId,
        message_id: messageId,
        publishTime,
        publish_time: publishTime,
        attributes: {},
      },
      subscription: this.subscription,
    });
  }

  async push(
    endpointUrl: string,
    notification: GmailNotification,
    options: PushOptions = {},
  ): Promise<{ status: number; body: string }> {
    const body = this.envelope(notification, options);
    const authorization = options.withoutToken ? undefined : `Bearer ${await this.token(options.token)}`;
    return this.#post(endpointUrl, body, authorization);
  }

  /** A push with any body at all, for malformed envelopes. */
  async pushRaw(
    endpointUrl: string,
    rawBody: string,
    tokenOverrides?: PushTokenOverrides,
  ): Promise<{ status: number; body: string }> {
    return this.#post(endpointUrl, rawBody, `Bearer ${await this.token(tokenOverrides)}`);
  }

  protected answer(request: IncomingMessage): FakeAnswer {
    const json = (status: number, body: unknown): FakeAnswer => ({
      status,
      headers: { 'content-type': 'application/json; charset=UTF-8', 'cache-control': 'public, max-age=3600' },
      body: JSON.stringify(body),
    });
    const path = new URL(request.url ?? '/', 'http://fake').pathname;
    if (request.method === 'GET' && path === '/oauth2/v3/certs') {
      return json(200, { keys: this.#publicJwk ? [this.#publicJwk] : [] });
    }
    if (request.method === 'GET' && path === '/.well-known/openid-configuration') {
      return json(200, {
        issuer: GOOGLE_ISSUER,
        jwks_uri: this.jwksUrl,
        id_token_signing_alg_values_supported: ['RS256'],
      });
    }
    return json(404, { error: 'not_found' });
  }

  async #post(
    endpointUrl: string,
    body: string,
    authorization: string | undefined,
  ): Promise<{ status: number; body: string }> {
    const response = await fetch(endpointUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)',
        ...(authorization ? { authorization } : {}),
      },
      body,
    });
    const text = await response.text();
    this.deliveries.push({ status: response.status, at: Date.now() });
    return { status: response.status, body: text };
  }
}

/** Google's ids for service accounts and Pub/Sub messages are long decimal strings. */
function numericId(digits: number): string {
  let id = String(randomInt(1, 10));
  while (id.length < digits) id += String(randomInt(0, 10));
  return id;
}
