import {
  authenticate,
  ProblemError,
  problemResponse,
  problemResponses,
  type SharedRateLimits,
  type TokenService,
} from '@autoflow/http-kit';
import { ConnectError, type OAuthConnector } from '@autoflow/oauth';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';

export interface OAuthRouteDeps {
  connector: OAuthConnector;
  tokens: TokenService;
  /** Counts shared by every replica (Postgres). */
  rateLimits: SharedRateLimits;
  rateLimitPerMinute: number;
  /** Where the callback sends the browser of a flow started without a redirectUrl, or of no known flow. */
  defaultRedirectUrl: string;
}

const secured = [{ bearer: [] }];

const redirect = (description: string) => z.null().describe(description);

/** The key provider (Vault Transit) could not seal or open a secret; nothing was stored. */
const keyProviderDown = problemResponse(
  503,
  'The key provider cannot seal or open secrets (`key_provider_unavailable`); try again later.',
);

function toProblem(error: unknown): unknown {
  if (!(error instanceof ConnectError)) return error;
  return new ProblemError(error.status, error.code, 'OAuth flow refused', error.message);
}

/** Appends the outcome to the frontend URL; never a token or a code, only a marker and a handle. */
function outcomeUrl(redirectUrl: string, params: Record<string, string>): string {
  const url = new URL(redirectUrl);
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  return url.toString();
}

export const oauthRoutes: FastifyPluginAsyncZod<OAuthRouteDeps> = async (
  app,
  { connector, tokens, rateLimits, rateLimitPerMinute, defaultRedirectUrl },
) => {
  const perMinute = { max: rateLimitPerMinute, windowMs: 60_000 };
  const limited = problemResponses(429);

  app.post(
    '/api/oauth2-credential/store',
    {
      config: rateLimits.perAddress('oauth-store', perMinute),
      schema: {
        tags: ['oauth'],
        operationId: 'storeOAuthApp',
        summary: "Stores a user's own OAuth app (its secret encrypted) as a credential to connect",
        security: secured,
        body: z
          .object({
            provider: z.string().min(1).max(50),
            clientId: z.string().min(1).max(500),
            clientSecret: z.string().min(1).max(500),
            name: z.string().min(1).max(255),
          })
          .meta({
            examples: [
              {
                provider: 'gmail',
                clientId: '1234.apps.googleusercontent.com',
                clientSecret: 'GOCSPX-…',
                name: 'Our Gmail app',
              },
            ],
          }),
        response: {
          201: z.object({ credentialId: z.number() }).meta({ examples: [{ credentialId: 3 }] }),
          400: problemResponse(
            400,
            'Not valid (`validation_failed`), `unknown_provider`, or `provider_without_oauth`.',
          ),
          409: problemResponse(
            409,
            'The user has a credential of this provider with this name: `credential_name_taken`.',
          ),
          ...limited,
          503: keyProviderDown,
        },
      },
    },
    async (request, reply) => {
      const userId = await authenticate(tokens, request);
      try {
        const credentialId = await connector.storeApp({ userId, ...request.body });
        return reply.code(201).send({ credentialId });
      } catch (error) {
        throw toProblem(error);
      }
    },
  );

  app.get(
    '/api/oauth2-credential/auth',
    {
      config: rateLimits.perAddress('oauth-auth', perMinute),
      schema: {
        tags: ['oauth'],
        operationId: 'beginOAuth',
        summary: 'Starts connecting an account: the provider’s consent URL',
        description:
          'A 302 to the consent page, or `{authorizationUrl}` with `Accept: application/json`. The flow is ' +
          'bound to the caller: after consent, only the same user can complete it (POST /complete).',
        security: secured,
        querystring: z.object({
          provider: z
            .string()
            .min(1)
            .max(50)
            .meta({ examples: ['gmail'] }),
          credentialId: z.coerce
            .number()
            .int()
            .positive()
            .optional()
            .describe('Reconnects this credential, or connects with the user’s own app it stores.'),
          redirectUrl: z
            .string()
            .max(2000)
            .optional()
            .describe(
              'Where the callback sends the browser; its origin must be allowed (OAUTH_REDIRECT_ALLOWLIST).',
            )
            .meta({ examples: ['https://app.example.com/connections'] }),
          name: z.string().min(1).max(255).optional().describe('The new credential’s name.'),
        }),
        response: {
          200: z
            .object({ authorizationUrl: z.string() })
            .describe('With `Accept: application/json`.')
            .meta({
              examples: [
                {
                  authorizationUrl:
                    'https://accounts.google.com/o/oauth2/v2/auth?client_id=1234.apps.googleusercontent.com&response_type=code&state=…',
                },
              ],
            }),
          302: redirect('To the provider’s consent page (`Location`), without `Accept: application/json`.'),
          400: problemResponse(
            400,
            'Not valid (`validation_failed`), `unknown_provider`, `provider_without_oauth`, `redirect_not_allowed`, `provider_not_configured` or `credential_without_app`.',
          ),
          404: problemResponse(404, 'The credentialId is not the caller’s: `not_found`.'),
          ...limited,
          503: keyProviderDown,
        },
      },
    },
    async (request, reply) => {
      const userId = await authenticate(tokens, request);
      let authorizationUrl: string;
      try {
        authorizationUrl = await connector.begin({ userId, ...request.query });
      } catch (error) {
        throw toProblem(error);
      }
      if (request.headers.accept?.includes('application/json')) return { authorizationUrl };
      return reply.redirect(authorizationUrl, 302);
    },
  );

  app.get(
    '/api/oauth2-credential/callback',
    {
      config: rateLimits.perAddress('oauth-callback', perMinute),
      schema: {
        tags: ['oauth'],
        operationId: 'oauthCallback',
        summary: 'The provider sends the browser here; it parks the code and sends the browser on',
        description:
          'Always a 302 to the frontend: the flow’s redirectUrl, or the default frontend URL ' +
          '(OAUTH_DEFAULT_REDIRECT_URL) when the flow had none or is unknown. Success adds ' +
          '`status=pending&handle=…`: the frontend, signed in as the user who started the flow, completes it ' +
          'with POST /api/oauth2-credential/complete. A refusal adds `status=error&code=…` (state_missing, ' +
          'state_invalid, state_expired, access_denied, code_missing). Nothing is stored on a credential here.',
        // Other parameters a provider adds (scope, authuser, …) are accepted and ignored.
        querystring: z.object({
          state: z
            .string()
            .optional()
            .meta({ examples: ['k3Jx9…'] }),
          code: z
            .string()
            .optional()
            .meta({ examples: ['4/0AbCdEf…'] }),
          error: z.string().optional().describe('The provider’s refusal, e.g. `access_denied`.'),
        }),
        response: {
          302: redirect(
            'To the frontend (`Location`) with `status=pending&handle=…` or `status=error&code=…`.',
          ),
          ...limited,
          503: keyProviderDown,
        },
      },
    },
    async (request, reply) => {
      // The URL carries a code and state: it must not leak to the next page through Referer.
      reply.header('referrer-policy', 'no-referrer');
      const { state, code, error } = request.query;
      const query = new URLSearchParams();
      for (const [name, value] of Object.entries({ state, code, error }))
        if (value !== undefined) query.set(name, value);
      try {
        const parked = await connector.park(query);
        return reply.redirect(
          outcomeUrl(parked.redirectUrl ?? defaultRedirectUrl, { status: 'pending', handle: parked.handle }),
          302,
        );
      } catch (refusal) {
        if (!(refusal instanceof ConnectError)) throw refusal;
        request.log.warn({ code: refusal.code }, 'OAuth callback refused');
        return reply.redirect(
          outcomeUrl(refusal.redirectUrl ?? defaultRedirectUrl, { status: 'error', code: refusal.code }),
          302,
        );
      }
    },
  );

  app.post(
    '/api/oauth2-credential/complete',
    {
      config: rateLimits.perAddress('oauth-complete', perMinute),
      schema: {
        tags: ['oauth'],
        operationId: 'completeOAuth',
        summary: 'Completes a connection: redeems the code the callback parked, for the user who started it',
        description:
          'The handle is single-use and valid 5 minutes after the callback. 403 ' +
          '`flow_started_by_another_user` when the caller did not start the flow: the parked code is then ' +
          'discarded unredeemed. 404 `handle_invalid` for an unknown or used handle, 400 `handle_expired`, ' +
          '400 `token_exchange_failed` when the provider refuses the code.',
        security: secured,
        body: z.object({ handle: z.string().min(1).max(200) }).meta({ examples: [{ handle: 'h_9sKq2…' }] }),
        response: {
          200: z.object({ credentialId: z.number() }).meta({ examples: [{ credentialId: 3 }] }),
          400: problemResponse(
            400,
            'Not valid, `handle_expired`, or `token_exchange_failed` (the provider refused the code).',
          ),
          403: problemResponse(403, 'The caller did not start this flow: `flow_started_by_another_user`.'),
          404: problemResponse(404, 'An unknown or used handle: `handle_invalid`.'),
          ...limited,
          503: keyProviderDown,
        },
      },
    },
    async (request) => {
      const userId = await authenticate(tokens, request);
      try {
        const credentialId = await connector.complete({ userId, handle: request.body.handle });
        return { credentialId };
      } catch (error) {
        // A flow completed by another user than its starter is what a connect CSRF looks like.
        if (error instanceof ConnectError) request.log.warn({ code: error.code }, 'OAuth completion refused');
        throw toProblem(error);
      }
    },
  );
};
