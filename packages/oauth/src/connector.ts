import { createHash, randomBytes } from 'node:crypto';
import type { FieldEncryption } from '@autoflow/crypto';
import { credentials, type Database, oauthStates } from '@autoflow/db';
import type { OAuth2AuthSpec, ProviderRegistry, ResolvedOAuth2 } from '@autoflow/provider-registry';
import { and, eq, gt, isNull, lt } from 'drizzle-orm';
import * as oauth from 'oauth4webapi';

// The authorization-code flow for connecting an account: PKCE S256 always, a random single-use
// state kept (hashed) in Postgres and bound to user, provider and credential, and tokens encrypted
// at rest. Works for platform apps (client from env) and user-provided apps (the seed's /store).
//
// The flow ends in two steps, so that only the user who started it can finish it (RFC 9700 §4.7):
// the callback, which anyone's browser may reach, only parks the code (sealed) and hands out a
// one-time handle; `complete`, called with the starter's bearer token, redeems it. Any other user's
// attempt discards the parked code unredeemed.

/** From /auth to the provider's callback. */
const STATE_LIFETIME_MS = 10 * 60 * 1000;
/** From the callback to /complete: the frontend redeems the handle as soon as it loads. */
export const HANDLE_LIFETIME_MS = 5 * 60 * 1000;
/** Abandoned flows (and their parked codes) are deleted this long after they expire; until then an expiry is reported as such. */
const ABANDONED_FLOW_GRACE_MS = 60 * 60 * 1000;

/** A refusal with a stable code; the service turns it into a problem or an error redirect. */
export class ConnectError extends Error {
  override name = 'ConnectError';
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    /** Where to send the browser with the error, when the flow got far enough to know. */
    readonly redirectUrl?: string,
  ) {
    super(message);
  }
}

export interface ConnectorOptions {
  db: Database;
  keyring: FieldEncryption;
  registry: ProviderRegistry;
  /** Each OAuth provider's endpoints and platform client after overrides (resolveOAuth2Providers). */
  oauth: ReadonlyMap<string, ResolvedOAuth2>;
  /** This service's public callback URL, registered at every provider. */
  callbackUrl: string;
  /** Origins a flow may return the browser to. */
  redirectAllowlist: ReadonlySet<string>;
  /** Plain-http provider endpoints (local fakes in tests); never in production. */
  allowHttpEndpoints: boolean;
}

export interface StoreAppInput {
  userId: number;
  provider: string;
  clientId: string;
  clientSecret: string;
  name: string;
}

export interface BeginInput {
  userId: number;
  provider: string;
  credentialId?: number | undefined;
  redirectUrl?: string | undefined;
  name?: string | undefined;
}

/** The callback's outcome: where to send the browser, with the handle that completes the flow. */
export interface ParkedConnection {
  handle: string;
  redirectUrl: string | null;
}

export interface CompleteInput {
  /** The authenticated caller: it must be the user who started the flow. */
  userId: number;
  handle: string;
}

/** States and handles are kept only as their SHA-256. */
function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

const codeLocation = (stateHash: string) => ({ table: 'oauth_states', column: 'code', row: stateHash });

export const secretLocation = (
  column: 'access_token' | 'refresh_token' | 'client_secret',
  credentialId: number,
) => ({
  table: 'credentials',
  column,
  row: credentialId,
});

export class OAuthConnector {
  constructor(private readonly options: ConnectorOptions) {}

  oauthSpec(providerId: string): OAuth2AuthSpec {
    const provider = this.options.registry.provider(providerId);
    if (!provider) throw new ConnectError('unknown_provider', `no provider "${providerId}"`);
    if (provider.auth.type !== 'oauth2') {
      throw new ConnectError('provider_without_oauth', `${providerId} does not connect over OAuth2`);
    }
    return provider.auth;
  }

  resolved(providerId: string): ResolvedOAuth2 {
    this.oauthSpec(providerId);
    const resolved = this.options.oauth.get(providerId);
    if (!resolved) throw new ConnectError('provider_without_oauth', `${providerId} has no OAuth settings`);
    return resolved;
  }

  /** The seed's /store: a user's own OAuth app, its secret encrypted and bound to the new row. */
  async storeApp(input: StoreAppInput): Promise<number> {
    this.oauthSpec(input.provider);
    return this.options.db.transaction(async (tx) => {
      const [row] = await tx
        .insert(credentials)
        .values({
          userId: input.userId,
          serviceProvider: input.provider,
          credentialType: 'oauth2',
          name: input.name,
          clientId: input.clientId,
          isValid: false,
        })
        .onConflictDoNothing()
        .returning({ id: credentials.id });
      if (!row)
        throw new ConnectError(
          'credential_name_taken',
          `a ${input.provider} credential named "${input.name}" exists`,
          409,
        );
      await tx
        .update(credentials)
        .set({
          clientSecret: await this.options.keyring.encrypt(
            input.clientSecret,
            secretLocation('client_secret', row.id),
          ),
        })
        .where(eq(credentials.id, row.id));
      return row.id;
    });
  }

  assertRedirectAllowed(redirectUrl: string | undefined): void {
    if (redirectUrl === undefined) return;
    const origin = URL.canParse(redirectUrl) ? new URL(redirectUrl).origin : undefined;
    if (!origin || !this.options.redirectAllowlist.has(origin)) {
      throw new ConnectError('redirect_not_allowed', 'redirectUrl is not on the allow-list');
    }
  }

  private async client(userId: number, provider: string, credentialId: number | null | undefined) {
    if (credentialId === null || credentialId === undefined) {
      const platform = this.resolved(provider).platformClient;
      if (!platform)
        throw new ConnectError(
          'provider_not_configured',
          `no platform OAuth app is configured for ${provider}`,
        );
      return platform;
    }
    const [row] = await this.options.db
      .select()
      .from(credentials)
      .where(
        and(
          eq(credentials.id, credentialId),
          eq(credentials.userId, userId),
          eq(credentials.serviceProvider, provider),
        ),
      );
    if (!row) throw new ConnectError('not_found', 'credential not found', 404);
    if (!row.clientId || !row.clientSecret) {
      throw new ConnectError('credential_without_app', 'this credential has no OAuth app of its own');
    }
    return {
      clientId: row.clientId,
      clientSecret: await this.options.keyring.decrypt(
        row.clientSecret,
        secretLocation('client_secret', row.id),
      ),
    };
  }

  /** Starts a flow: stores the pending state and answers the provider's consent URL. */
  async begin(input: BeginInput): Promise<string> {
    this.assertRedirectAllowed(input.redirectUrl);
    const resolved = this.resolved(input.provider);
    const client = await this.client(input.userId, input.provider, input.credentialId);
    const state = oauth.generateRandomState();
    const codeVerifier = oauth.generateRandomCodeVerifier();
    const stateHash = hashSecret(state);
    await this.options.db
      .delete(oauthStates)
      .where(lt(oauthStates.expiresAt, new Date(Date.now() - ABANDONED_FLOW_GRACE_MS)));
    await this.options.db.insert(oauthStates).values({
      stateHash,
      userId: input.userId,
      provider: input.provider,
      credentialId: input.credentialId ?? null,
      credentialName: input.name ?? null,
      codeVerifier: await this.options.keyring.encrypt(codeVerifier, {
        table: 'oauth_states',
        column: 'code_verifier',
        row: stateHash,
      }),
      redirectUrl: input.redirectUrl ?? null,
      expiresAt: new Date(Date.now() + STATE_LIFETIME_MS),
    });
    const url = new URL(resolved.authorizeUrl);
    url.search = new URLSearchParams({
      ...resolved.authorizeParams,
      response_type: 'code',
      client_id: client.clientId,
      redirect_uri: this.options.callbackUrl,
      scope: resolved.scopes.join(' '),
      state,
      code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
    }).toString();
    return url.toString();
  }

  /**
   * The callback: consumes the state once and parks the code under a new one-time handle. Nothing is
   * redeemed here, since whoever's browser reaches this URL need not be the user who started the flow.
   */
  async park(query: URLSearchParams): Promise<ParkedConnection> {
    const state = query.get('state');
    if (!state) throw new ConnectError('state_missing', 'the callback carries no state');
    const stateHash = hashSecret(state);
    const code = query.get('code');
    const providerError = query.get('error');
    if (providerError || !code) {
      // Nothing to park: the flow ends here.
      const [ended] = await this.options.db
        .delete(oauthStates)
        .where(and(eq(oauthStates.stateHash, stateHash), isNull(oauthStates.handleHash)))
        .returning({ redirectUrl: oauthStates.redirectUrl });
      if (!ended) throw new ConnectError('state_invalid', 'the state is unknown or was already used');
      throw providerError
        ? new ConnectError(
            'access_denied',
            `the provider answered ${providerError}`,
            400,
            ended.redirectUrl ?? undefined,
          )
        : new ConnectError(
            'code_missing',
            'the callback carries no code',
            400,
            ended.redirectUrl ?? undefined,
          );
    }
    const handle = randomBytes(32).toString('base64url');
    const [parked] = await this.options.db
      .update(oauthStates)
      .set({
        code: await this.options.keyring.encrypt(code, codeLocation(stateHash)),
        handleHash: hashSecret(handle),
        expiresAt: new Date(Date.now() + HANDLE_LIFETIME_MS),
      })
      // Single use: a state whose code is parked already is not parked again.
      .where(
        and(
          eq(oauthStates.stateHash, stateHash),
          isNull(oauthStates.handleHash),
          gt(oauthStates.expiresAt, new Date()),
        ),
      )
      .returning({ redirectUrl: oauthStates.redirectUrl });
    if (parked) return { handle, redirectUrl: parked.redirectUrl };
    const [expired] = await this.options.db
      .delete(oauthStates)
      .where(and(eq(oauthStates.stateHash, stateHash), isNull(oauthStates.handleHash)))
      .returning({ redirectUrl: oauthStates.redirectUrl });
    if (!expired) throw new ConnectError('state_invalid', 'the state is unknown or was already used');
    throw new ConnectError(
      'state_expired',
      'the authorization took too long; start again',
      400,
      expired.redirectUrl ?? undefined,
    );
  }

  /**
   * Redeems a parked code for the user who started the flow, and only for them: the handle is
   * consumed whoever presents it, so a wrong user's attempt discards the code unredeemed.
   */
  async complete(input: CompleteInput): Promise<number> {
    const [flow] = await this.options.db
      .delete(oauthStates)
      .where(eq(oauthStates.handleHash, hashSecret(input.handle)))
      .returning();
    if (!flow?.code)
      throw new ConnectError('handle_invalid', 'the handle is unknown or was already used', 404);
    if (flow.userId !== input.userId) {
      throw new ConnectError(
        'flow_started_by_another_user',
        'another user started this connection; it is discarded and nothing was stored',
        403,
      );
    }
    if (flow.expiresAt.getTime() < Date.now())
      throw new ConnectError('handle_expired', 'the connection was not completed in time; start again');

    const resolved = this.resolved(flow.provider);
    const client = await this.client(flow.userId, flow.provider, flow.credentialId);
    const codeVerifier = await this.options.keyring.decrypt(flow.codeVerifier, {
      table: 'oauth_states',
      column: 'code_verifier',
      row: flow.stateHash,
    });
    const code = await this.options.keyring.decrypt(flow.code, codeLocation(flow.stateHash));
    const server: oauth.AuthorizationServer = {
      issuer: new URL(resolved.tokenUrl).origin,
      token_endpoint: resolved.tokenUrl,
    };
    const oauthClient: oauth.Client = { client_id: client.clientId };
    const httpOption = { [oauth.allowInsecureRequests]: this.options.allowHttpEndpoints };
    let tokens: oauth.TokenEndpointResponse;
    try {
      const params = oauth.validateAuthResponse(
        server,
        oauthClient,
        new URLSearchParams({ code }),
        oauth.skipStateCheck,
      );
      const response = await oauth.authorizationCodeGrantRequest(
        server,
        oauthClient,
        oauth.ClientSecretPost(client.clientSecret),
        params,
        this.options.callbackUrl,
        codeVerifier,
        httpOption,
      );
      tokens = await oauth.processAuthorizationCodeResponse(server, oauthClient, response);
    } catch (error) {
      const reason = error instanceof oauth.ResponseBodyError ? error.error : 'token_exchange_failed';
      throw new ConnectError('token_exchange_failed', `the provider refused the code (${reason})`);
    }
    return this.saveTokens(flow, tokens, resolved);
  }

  private async saveTokens(
    pending: { userId: number; provider: string; credentialId: number | null; credentialName: string | null },
    tokens: oauth.TokenEndpointResponse,
    resolved: ResolvedOAuth2,
  ): Promise<number> {
    const { keyring } = this.options;
    return this.options.db.transaction(async (tx) => {
      let credentialId = pending.credentialId;
      if (credentialId === null) {
        const [row] = await tx
          .insert(credentials)
          .values({
            userId: pending.userId,
            serviceProvider: pending.provider,
            credentialType: 'oauth2',
            name: pending.credentialName ?? `${pending.provider} ${randomBytes(3).toString('hex')}`,
          })
          .returning({ id: credentials.id });
        if (!row) throw new Error('insert returned no row');
        credentialId = row.id;
      }
      const id = credentialId;
      await tx
        .update(credentials)
        .set({
          accessToken: await keyring.encrypt(tokens.access_token, secretLocation('access_token', id)),
          // A response without a refresh token keeps the stored one (Google sends it on first consent only).
          ...(tokens.refresh_token
            ? {
                refreshToken: await keyring.encrypt(
                  tokens.refresh_token,
                  secretLocation('refresh_token', id),
                ),
              }
            : {}),
          expiresAt: tokens.expires_in === undefined ? null : new Date(Date.now() + tokens.expires_in * 1000),
          scope: tokens.scope ?? resolved.scopes.join(' '),
          isValid: true,
          updatedAt: new Date(),
        })
        .where(eq(credentials.id, id));
      return id;
    });
  }
}
