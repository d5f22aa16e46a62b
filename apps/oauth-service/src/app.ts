import {
  type ReadinessChecks,
  registerCors,
  registerHealthRoutes,
  registerOpenApi,
  registerProblemHandlers,
} from '@autoflow/http-kit';
import fp from 'fastify-plugin';
import { type OAuthRouteDeps, oauthRoutes } from './routes.js';

export interface OAuthServiceDeps extends OAuthRouteDeps {
  readiness: ReadinessChecks;
  /** Frontend origins allowed by CORS on /api/ (none when absent or empty). */
  corsAllowedOrigins?: ReadonlySet<string>;
}

/** Connecting provider accounts: the seed's /api/oauth2-credential/{store,auth,callback,complete}. */
export const oauthService = fp<OAuthServiceDeps>(
  async (app, deps) => {
    await registerOpenApi(app, {
      title: 'autoflow oauth-service',
      description: 'Connecting provider accounts over OAuth2',
    });
    registerProblemHandlers(app);
    await registerCors(app, { allowedOrigins: deps.corsAllowedOrigins ?? new Set(), pathPrefix: '/api/' });
    registerHealthRoutes(app, deps.readiness);
    // Limits apply only to routes that ask for them (the OAuth endpoints), not to health probes.
    await deps.rateLimits.register(app);
    await app.register(oauthRoutes, deps);
  },
  { name: 'oauth-service' },
);
