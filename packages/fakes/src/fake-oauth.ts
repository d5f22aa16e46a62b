import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { type FakeAnswer, FakeServer } from './local-server.js';

interface PendingCode {
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  scope: string;
  used: boolean;
}

/**
 * A local OAuth2 authorization server speaking the real wire format: /authorize consents at once and
 * redirects with a code; /token serves the authorization_code grant (client_secret_post, PKCE S256)
 * and the refresh_token grant; /revoke (RFC 7009). It remembers everything it issued, so tests can
 * scan logs and answers for it.
 */
/** Switchable behaviours of real providers. */
export interface FakeOAuthBehaviour {
  /** Every refresh answers a new refresh token and burns the old one. */
  rotateRefreshTokens: boolean;
  /** Google's habit: a refresh token only on a client's first consent. */
  refreshTokenOnFirstConsentOnly: boolean;
  expiresInSeconds: number;
}

export class FakeOAuthServer extends FakeServer {
  readonly behaviour: FakeOAuthBehaviour = {
    rotateRefreshTokens: false,
    refreshTokenOnFirstConsentOnly: false,
    expiresInSeconds: 3600,
  };
  /** Refresh grants answered, successful or not. */
  refreshCount = 0;
  readonly #consented = new Set<string>();
  readonly #accessTokens = new Set<string>();
  /** The account the fake Gmail API reports for any valid token. */
  readonly account = 'owner@gmail.test';
  readonly #clients = new Map<string, string>();
  readonly #codes = new Map<string, PendingCode>();
  readonly #refreshTokens = new Map<string, { clientId: string; revoked: boolean }>();
  /** Every secret value that must never appear in a log line or API answer. */
  readonly issuedSecrets: string[] = [];
  readonly revoked: string[] = [];
  readonly tokenRequests: URLSearchParams[] = [];
  /** Every token pair issued (code exchange or refresh), oldest first: tests pick a credential's tokens here. */
  readonly issuedTokens: { accessToken: string; refreshToken: string | undefined }[] = [];

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /**
   * The variables that point the apps' Google OAuth at this fake, with a platform app it knows, and
   * let the apps send a browser back to `frontend`.
   */
  appEnv(frontend: string): Record<string, string> {
    this.registerClient('platform-app', 'platform-app-secret-value');
    return {
      GOOGLE_OAUTH_AUTHORIZE_URL: this.url('/authorize'),
      GOOGLE_OAUTH_TOKEN_URL: this.url('/token'),
      GOOGLE_OAUTH_REVOKE_URL: this.url('/revoke'),
      GOOGLE_OAUTH_CLIENT_ID: 'platform-app',
      GOOGLE_OAUTH_CLIENT_SECRET: 'platform-app-secret-value',
      OAUTH_REDIRECT_ALLOWLIST: frontend,
      OAUTH_ALLOW_HTTP_ENDPOINTS: 'true',
    };
  }

  registerClient(clientId: string, clientSecret: string): void {
    this.#clients.set(clientId, clientSecret);
    this.issuedSecrets.push(clientSecret);
  }

  protected answer(request: IncomingMessage, rawBody: string): FakeAnswer {
    const url = new URL(request.url ?? '/', 'http://fake');
    const form = new URLSearchParams(rawBody);
    const json = (status: number, body: unknown): FakeAnswer => ({
      status,
      headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
      body: JSON.stringify(body),
    });

    if (url.pathname === '/authorize') {
      const clientId = url.searchParams.get('client_id') ?? '';
      const redirectUri = url.searchParams.get('redirect_uri') ?? '';
      if (!this.#clients.has(clientId)) return json(400, { error: 'invalid_client' });
      if (url.searchParams.get('code_challenge_method') !== 'S256')
        return json(400, { error: 'invalid_request' });
      const code = randomBytes(16).toString('hex');
      this.issuedSecrets.push(code, url.searchParams.get('state') ?? '');
      this.#codes.set(code, {
        clientId,
        redirectUri,
        codeChallenge: url.searchParams.get('code_challenge') ?? '',
        scope: url.searchParams.get('scope') ?? '',
        used: false,
      });
      const target = new URL(redirectUri);
      target.searchParams.set('code', code);
      target.searchParams.set('state', url.searchParams.get('state') ?? '');
      return { status: 302, headers: { location: target.toString() }, body: '' };
    }

    if (url.pathname === '/token' && request.method === 'POST') {
      this.tokenRequests.push(form);
      const clientId = form.get('client_id') ?? '';
      if (!clientId || this.#clients.get(clientId) !== form.get('client_secret'))
        return json(401, { error: 'invalid_client' });
      if (form.get('grant_type') === 'authorization_code') {
        const pending = this.#codes.get(form.get('code') ?? '');
        const verifier = form.get('code_verifier') ?? '';
        const challenge = createHash('sha256').update(verifier).digest('base64url');
        if (
          !pending ||
          pending.used ||
          pending.clientId !== clientId ||
          pending.redirectUri !== form.get('redirect_uri')
        ) {
          return json(400, { error: 'invalid_grant' });
        }
        pending.used = true;
        if (challenge !== pending.codeChallenge) {
          return json(400, { error: 'invalid_grant', error_description: 'PKCE' });
        }
        const withRefreshToken = !(
          this.behaviour.refreshTokenOnFirstConsentOnly && this.#consented.has(clientId)
        );
        this.#consented.add(clientId);
        return json(200, this.#issue(clientId, pending.scope, withRefreshToken));
      }
      if (form.get('grant_type') === 'refresh_token') {
        this.refreshCount++;
        const grant = this.#refreshTokens.get(form.get('refresh_token') ?? '');
        if (!grant || grant.revoked || grant.clientId !== clientId)
          return json(400, { error: 'invalid_grant' });
        if (this.behaviour.rotateRefreshTokens) grant.revoked = true;
        return json(200, this.#issue(clientId, undefined, this.behaviour.rotateRefreshTokens));
      }
      return json(400, { error: 'unsupported_grant_type' });
    }

    // Gmail's users.getProfile: the cheap identity call behind POST /api/credentials/:id/test.
    if (url.pathname === '/gmail/v1/users/me/profile') {
      const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1] ?? '';
      if (!this.#accessTokens.has(bearer))
        return json(401, { error: { code: 401, status: 'UNAUTHENTICATED' } });
      return json(200, { emailAddress: this.account, messagesTotal: 0, threadsTotal: 0, historyId: '1' });
    }

    if (url.pathname === '/revoke' && request.method === 'POST') {
      const token = form.get('token') ?? '';
      this.revoked.push(token);
      const grant = this.#refreshTokens.get(token);
      if (grant) grant.revoked = true;
      return { status: 200, headers: {}, body: '' };
    }
    return json(404, { error: 'not_found' });
  }

  /** True for an access token this server issued, so other fakes (FakeGmail) can accept it. */
  isAccessToken(token: string): boolean {
    return this.#accessTokens.has(token);
  }

  /**
   * The provider drops an access token before its announced expiry (password change, security event):
   * the APIs that consult this server (isAccessToken) answer 401 for it from now on.
   */
  invalidateAccessToken(token: string): void {
    this.#accessTokens.delete(token);
  }

  /** One refresh token stops working: its next refresh grant answers invalid_grant. */
  revokeRefreshToken(token: string): void {
    const grant = this.#refreshTokens.get(token);
    if (grant) grant.revoked = true;
  }

  /** The user revokes the app's access at the provider: every refresh token stops working. */
  revokeAll(): void {
    for (const grant of this.#refreshTokens.values()) grant.revoked = true;
  }

  #issue(clientId: string, scope: string | undefined, withRefreshToken: boolean) {
    const accessToken = `at-${randomBytes(16).toString('hex')}`;
    this.issuedSecrets.push(accessToken);
    this.#accessTokens.add(accessToken);
    const refreshToken = withRefreshToken ? `rt-${randomBytes(16).toString('hex')}` : undefined;
    if (refreshToken) {
      this.#refreshTokens.set(refreshToken, { clientId, revoked: false });
      this.issuedSecrets.push(refreshToken);
    }
    this.issuedTokens.push({ accessToken, refreshToken });
    return {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: this.behaviour.expiresInSeconds,
      ...(refreshToken ? { refresh_token: refreshToken } : {}),
      ...(scope ? { scope } : {}),
    };
  }
}
