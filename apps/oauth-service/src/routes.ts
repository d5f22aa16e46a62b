import { authenticate, ProblemError, type SharedRateLimits, type TokenService } from '@autoflow/http-kit';
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

const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number(),
    detail: z.string(),
    code: z.string(),
    issues: z
      .array(z.object({ path: z.array(z.union([z.string(), z.number()])), message: z.string() }))
      .optional(),
  })
  .describe('application/problem+json with a machine-readable `code`');

const redirect = (description: string) => z.null().describe(description);

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
  const limited = { 429: problemSchema };

  app.post(
    '/api/oauth2-credential/store',
    {
      config: rateLimits.perAddress('oauth-store', perMinute),
      schema: {
        tags: ['oauth'],
        summary: "Stores a user's own OAuth app (its secret encrypted) as a credential to connect",
        security: secured,
        body: z.object({
          provider: z.string().min(1).max(50),
          clientId: z.string().min(1).max(500),
          clientSecret: z.string().min(1).max(500),
          name: z.string().min(1).max(255),
        }),
        response: {
          201: z.object({ credentialId: z.number() }),
          400: problemSchema,
          401: problemSchema,
          409: problemSchema,
          ...limited,
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
        summary: 'Starts connecting an account: the provider’s consent URL',
        description:
          'A 302 to the consent page, or `{authorizationUrl}` with `Accept: application/json`. The flow is ' +
          'bound to the caller: after consent, only the same user can complete it (POST /complete).',
        security: secured,
        querystring: z.object({
          provider: z.string().min(1).max(50),
          credentialId: z.coerce.number().int().positive().optional(),
          redirectUrl: z.string().max(2000).optional(),
          name: z.string().min(1).max(255).optional(),
        }),
        response: {
          200: z.object({ authorizationUrl: z.string() }),
          302: redirect('To the provider’s consent page.'),
          400: problemSchema,
          401: problemSchema,
          404: problemSchema,
          ...limited,
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
        summary: 'The provider sends the browser here; it parks the code and sends the browser on',
        description:
          'Always a 302 to the frontend: the flow’s redirectUrl, or the default frontend URL ' +
          '(OAUTH_DEFAULT_REDIRECT_URL) when the flow had none or is unknown. Success adds ' +
          '`status=pending&handle=…`: the frontend, signed in as the user who started the flow, completes it ' +
          'with POST /api/oauth2-credential/complete. A refusal adds `status=error&code=…` (state_missing, ' +
          'state_invalid, state_expired, access_denied, code_missing). Nothing is stored on a credential here.',
        querystring: z.looseObject({
          state: z.string().optional(),
          code: z.string().optional(),
          error: z.string().optional(),
        }),
        response: {
          302: redirect('To the frontend with `status=pending&handle=…` or `status=error&code=…`.'),
          400: problemSchema,
          ...limited,
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
        summary: 'Completes a connection: redeems the code the callback parked, for the user who started it',
        description:
          'The handle is single-use and valid 5 minutes after the callback. 403 ' +
          '`flow_started_by_another_user` when the caller did not start the flow: the parked code is then ' +
          'discarded unredeemed. 404 `handle_invalid` for an unknown or used handle, 400 `handle_expired`, ' +
          '400 `token_exchange_failed` when the provider refuses the code.',
        security: secured,
        body: z.object({ handle: z.string().min(1).max(200) }),
        response: {
          200: z.object({ credentialId: z.number() }),
          400: problemSchema,
          401: problemSchema,
          403: problemSchema,
          404: problemSchema,
          ...limited,
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
