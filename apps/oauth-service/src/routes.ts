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
}

const secured = [{ bearer: [] }];

function toProblem(error: unknown): unknown {
  if (!(error instanceof ConnectError)) return error;
  return new ProblemError(error.status, error.code, 'OAuth flow refused', error.message);
}

/** Appends the outcome to the frontend URL; never a token, only a marker and the credential id. */
function outcomeUrl(redirectUrl: string, params: Record<string, string>): string {
  const url = new URL(redirectUrl);
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  return url.toString();
}

export const oauthRoutes: FastifyPluginAsyncZod<OAuthRouteDeps> = async (
  app,
  { connector, tokens, rateLimits, rateLimitPerMinute },
) => {
  const perMinute = { max: rateLimitPerMinute, windowMs: 60_000 };

  app.post(
    '/api/oauth2-credential/store',
    {
      config: rateLimits.perAddress('oauth-store', perMinute),
      schema: {
        tags: ['oauth'],
        security: secured,
        body: z.object({
          provider: z.string().min(1).max(50),
          clientId: z.string().min(1).max(500),
          clientSecret: z.string().min(1).max(500),
          name: z.string().min(1).max(255),
        }),
        response: { 201: z.object({ credentialId: z.number() }) },
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
        security: secured,
        querystring: z.object({
          provider: z.string().min(1).max(50),
          credentialId: z.coerce.number().int().positive().optional(),
          redirectUrl: z.string().max(2000).optional(),
          name: z.string().min(1).max(255).optional(),
        }),
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
      schema: { tags: ['oauth'], querystring: z.record(z.string(), z.string()) },
    },
    async (request, reply) => {
      // The URL carries a code and state: it must not leak to the next page through Referer.
      reply.header('referrer-policy', 'no-referrer');
      try {
        const connection = await connector.complete(new URLSearchParams(request.query));
        if (!connection.redirectUrl) return { status: 'success', credentialId: connection.credentialId };
        return reply.redirect(
          outcomeUrl(connection.redirectUrl, {
            status: 'success',
            credentialId: String(connection.credentialId),
          }),
          302,
        );
      } catch (error) {
        if (error instanceof ConnectError && error.redirectUrl) {
          request.log.warn({ code: error.code }, 'OAuth callback refused');
          return reply.redirect(outcomeUrl(error.redirectUrl, { status: 'error', code: error.code }), 302);
        }
        throw toProblem(error);
      }
    },
  );
};
