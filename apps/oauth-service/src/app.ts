import {
  type ReadinessChecks,
  registerHealthRoutes,
  registerOpenApi,
  registerProblemHandlers,
} from '@autoflow/http-kit';
import fp from 'fastify-plugin';

export interface OAuthServiceDeps {
  readiness: ReadinessChecks;
}

/** OAuth2 connect flows. For now: health and readiness; the flows come with the OAuth issue. */
export const oauthService = fp<OAuthServiceDeps>(
  async (app, deps) => {
    await registerOpenApi(app, {
      title: 'autoflow oauth-service',
      description: 'Connecting provider accounts over OAuth2',
    });
    registerProblemHandlers(app);
    registerHealthRoutes(app, deps.readiness);
  },
  { name: 'oauth-service' },
);
