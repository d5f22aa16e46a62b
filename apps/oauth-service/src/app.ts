import {
  type ReadinessChecks,
  registerHealthRoutes,
  registerOpenApi,
  registerProblemHandlers,
} from '@autoflow/http-kit';
import fp from 'fastify-plugin';
import { type OAuthRouteDeps, oauthRoutes } from './routes.js';

export interface OAuthServiceDeps extends OAuthRouteDeps {
  readiness: ReadinessChecks;
}

/** Connecting provider accounts: the seed's /api/oauth2-credential/{store,auth,callback,complete}. */
export const oauthService = fp<OAuthServiceDeps>(
  async (app, deps) => {
    await registerOpenApi(app, {
      title: 'autoflow oauth-service',
      description: 'Connecting provider accounts over OAuth2',
    });
    registerProblemHandlers(app);
    registerHealthRoutes(app, deps.readiness);
    // Limits apply only to routes that ask for them (the OAuth endpoints), not to health probes.
    await deps.rateLimits.register(app);
    await app.register(oauthRoutes, deps);
  },
  { name: 'oauth-service' },
);
