import type { FieldEncryption } from '@autoflow/crypto';
import { type Credential, credentials, type Database } from '@autoflow/db';
import { assertCredentialHost, type ResolvedOAuth2, TokenRejectedError } from '@autoflow/provider-registry';
import { and, eq } from 'drizzle-orm';
import * as oauth from 'oauth4webapi';
import { secretLocation } from './connector.js';

/** Refresh when a token expires within this margin, so that no call starts with a dying token. */
const REFRESH_MARGIN_MS = 3 * 60 * 1000;

/** The credential cannot give a token until its owner connects it again (revoked, expired grant). */
export class CredentialNeedsReconnectError extends Error {
  override name = 'CredentialNeedsReconnectError';
  readonly code = 'credential_needs_reconnect';
}

export interface CredentialServiceOptions {
  db: Database;
  keyring: FieldEncryption;
  /** Each OAuth provider's endpoints and platform client, resolved by the app (resolveOAuth2Providers). */
  oauth: ReadonlyMap<string, ResolvedOAuth2>;
  allowHttpEndpoints: boolean;
  /**
   * By provider id, the hosts its credentials' tokens may be sent to (declared API hosts and the hosts of
   * base-URL settings). A provider missing here sends its tokens nowhere through `withAccessTokenFor`.
   */
  credentialHosts?: ReadonlyMap<string, ReadonlySet<string>>;
  /** Counts refresh grants sent; for tests. */
  onRefresh?: (credentialId: number) => void;
  /** Records refresh outcomes and needs_reconnect transitions (the app's metrics); none when absent. */
  metrics?: OAuthMetrics;
}

/** What the credential service reports about tokens; labels are provider ids, never credential ids. */
export interface OAuthMetrics {
  tokenRefreshed(provider: string, outcome: 'success' | 'refused' | 'failed'): void;
  /** A valid credential was marked needs_reconnect (counted once per transition, not per refusal). */
  markedNeedsReconnect(provider: string): void;
}

/**
 * The one place activities get access tokens from. A token close to expiry, or one the provider refused
 * before its expiry, is refreshed under a row lock (SELECT … FOR UPDATE), so concurrent activities cause
 * one refresh; whoever waited on the lock re-reads the token the first one stored instead of spending
 * the refresh token again.
 */
export class CredentialService {
  constructor(private readonly options: CredentialServiceOptions) {}

  /**
   * Calls `use` with the credential's token, for the platform's own calls (the identity call of
   * `/test`), without a host check. `userId`: a request acts for a user, so the credential must be
   * that user's. On TokenRejectedError from `use`: one renewal, one more call (see withAccessTokenFor).
   */
  async withAccessToken<T>(
    credentialId: number,
    userId: number | undefined,
    use: (accessToken: string) => Promise<T>,
  ): Promise<T> {
    const row = await this.#read(this.options.db, credentialId, userId, false);
    const token = (await this.#usable(row)) ?? (await this.#refreshLocked(credentialId, userId));
    return this.#withOneRenewal(credentialId, userId, token, use);
  }

  /**
   * Calls `use` with the token for calls to `url`: handed out only when the URL's host is one of the
   * credential's provider's hosts or in `listedHosts` (the action's owner-listed hosts); otherwise
   * CredentialHostRefusedError, before anything is decrypted or refreshed. `userId`: a run acts for its
   * workflow's owner, so the credential must be that user's; without it (a listener watching the
   * account it was started for) the credential is read by id alone.
   *
   * When `use` throws TokenRejectedError (the provider no longer honours a token we believed valid),
   * the token is renewed once under the row lock and `use` is called once more; a second rejection
   * reaches the caller. A refused refresh token marks the credential needs_reconnect.
   */
  async withAccessTokenFor<T>(
    credentialId: number,
    url: string | URL,
    options: { userId?: number | undefined; listedHosts?: readonly string[] },
    use: (accessToken: string) => Promise<T>,
  ): Promise<T> {
    const row = await this.#read(this.options.db, credentialId, options.userId, false);
    assertCredentialHost(
      url,
      row.serviceProvider,
      this.options.credentialHosts?.get(row.serviceProvider) ?? new Set(),
      options.listedHosts ?? [],
    );
    const token = (await this.#usable(row)) ?? (await this.#refreshLocked(credentialId, options.userId));
    return this.#withOneRenewal(credentialId, options.userId, token, use);
  }

  async #withOneRenewal<T>(
    credentialId: number,
    userId: number | undefined,
    token: string,
    use: (accessToken: string) => Promise<T>,
  ): Promise<T> {
    try {
      return await use(token);
    } catch (error) {
      if (!(error instanceof TokenRejectedError)) throw error;
      return use(await this.#refreshLocked(credentialId, userId, token));
    }
  }

  async #read(
    db: Pick<Database, 'select'>,
    credentialId: number,
    userId: number | undefined,
    lock: boolean,
  ): Promise<Credential> {
    const query = db
      .select()
      .from(credentials)
      .where(
        and(
          eq(credentials.id, credentialId),
          userId === undefined ? undefined : eq(credentials.userId, userId),
        ),
      );
    const [row] = lock ? await query.for('update') : await query;
    if (!row) throw new CredentialNeedsReconnectError(`credential ${credentialId} no longer exists`);
    if (!row.isValid || !row.accessToken) {
      throw new CredentialNeedsReconnectError(`credential ${credentialId} needs reconnecting`);
    }
    return row;
  }

  /** The stored access token when it is valid for longer than the margin. */
  async #usable(row: Credential): Promise<string | undefined> {
    if (!row.accessToken) return undefined;
    if (row.expiresAt && row.expiresAt.getTime() - Date.now() < REFRESH_MARGIN_MS) return undefined;
    return this.options.keyring.decrypt(row.accessToken, secretLocation('access_token', row.id));
  }

  /**
   * A new token, by one refresh grant under the row lock. `rejected`: the token the provider refused;
   * a stored token other than it was renewed by a concurrent caller and is answered as it is.
   */
  async #refreshLocked(credentialId: number, userId: number | undefined, rejected?: string): Promise<string> {
    const { db, keyring } = this.options;
    let needsReconnect: string | undefined;
    let provider: string | undefined;
    const token = await db.transaction(async (tx) => {
      const row = await this.#read(tx, credentialId, userId, true);
      provider = row.serviceProvider;
      // Another worker refreshed while this one waited for the lock (or before the provider's refusal).
      const fresh = await this.#usable(row);
      if (fresh !== undefined && fresh !== rejected) return fresh;
      if (!row.refreshToken) {
        needsReconnect =
          rejected === undefined
            ? `credential ${credentialId} expired and has no refresh token`
            : `credential ${credentialId} needs reconnecting: the provider refused its access token and it has no refresh token`;
        return undefined;
      }
      const refreshToken = await keyring.decrypt(row.refreshToken, secretLocation('refresh_token', row.id));
      let tokens: oauth.TokenEndpointResponse;
      try {
        tokens = await this.#refreshGrant(row, refreshToken);
      } catch (error) {
        if (error instanceof oauth.ResponseBodyError && error.error === 'invalid_grant') {
          needsReconnect = `credential ${credentialId} needs reconnecting: the provider refused its refresh token (invalid_grant)`;
          return undefined;
        }
        throw error;
      }
      await tx
        .update(credentials)
        .set({
          accessToken: await keyring.encrypt(tokens.access_token, secretLocation('access_token', row.id)),
          // A rotated refresh token replaces the old one in the same transaction; none in the answer keeps it.
          ...(tokens.refresh_token
            ? {
                refreshToken: await keyring.encrypt(
                  tokens.refresh_token,
                  secretLocation('refresh_token', row.id),
                ),
              }
            : {}),
          expiresAt: tokens.expires_in === undefined ? null : new Date(Date.now() + tokens.expires_in * 1000),
          ...(tokens.scope ? { scope: tokens.scope } : {}),
          updatedAt: new Date(),
        })
        .where(eq(credentials.id, row.id));
      return tokens.access_token;
    });
    if (token !== undefined) return token;
    // Marked outside the refresh transaction, so the mark survives whatever the caller does next.
    const marked = await db
      .update(credentials)
      .set({ isValid: false, updatedAt: new Date() })
      .where(and(eq(credentials.id, credentialId), eq(credentials.isValid, true)))
      .returning({ id: credentials.id });
    if (marked.length > 0 && provider !== undefined) this.options.metrics?.markedNeedsReconnect(provider);
    throw new CredentialNeedsReconnectError(
      needsReconnect ?? `credential ${credentialId} needs reconnecting`,
    );
  }

  async #refreshGrant(row: Credential, refreshToken: string): Promise<oauth.TokenEndpointResponse> {
    const resolved = this.options.oauth.get(row.serviceProvider);
    if (!resolved) throw new CredentialNeedsReconnectError(`${row.serviceProvider} has no OAuth settings`);
    const client =
      row.clientId && row.clientSecret
        ? {
            clientId: row.clientId,
            clientSecret: await this.options.keyring.decrypt(
              row.clientSecret,
              secretLocation('client_secret', row.id),
            ),
          }
        : resolved.platformClient;
    if (!client)
      throw new CredentialNeedsReconnectError(`no OAuth app is configured for ${row.serviceProvider}`);
    const server: oauth.AuthorizationServer = {
      issuer: new URL(resolved.tokenUrl).origin,
      token_endpoint: resolved.tokenUrl,
    };
    const oauthClient: oauth.Client = { client_id: client.clientId };
    this.options.onRefresh?.(row.id);
    try {
      const response = await oauth.refreshTokenGrantRequest(
        server,
        oauthClient,
        oauth.ClientSecretPost(client.clientSecret),
        refreshToken,
        { [oauth.allowInsecureRequests]: this.options.allowHttpEndpoints },
      );
      const tokens = await oauth.processRefreshTokenResponse(server, oauthClient, response);
      this.options.metrics?.tokenRefreshed(row.serviceProvider, 'success');
      return tokens;
    } catch (error) {
      const refused = error instanceof oauth.ResponseBodyError && error.error === 'invalid_grant';
      this.options.metrics?.tokenRefreshed(row.serviceProvider, refused ? 'refused' : 'failed');
      throw error;
    }
  }
}
