import { readOpenApiDocument } from '@autoflow/client';
import {
  registerCors,
  registerHealthRoutes,
  registerOpenApi,
  registerProblemHandlers,
} from '@autoflow/http-kit';
import { codecServerRoutes } from '@autoflow/temporal-codec';
import apiReference from '@scalar/fastify-api-reference';
import fp from 'fastify-plugin';
import type { ApiGatewayDeps } from './deps.js';
import { authRoutes } from './routes/auth.js';
import { catalogRoutes } from './routes/catalog.js';
import { credentialRoutes } from './routes/credentials.js';
import { executionRoutes } from './routes/executions.js';
import { workflowRoutes } from './routes/workflows.js';

export type { ApiGatewayDeps, AuthLimits } from './deps.js';

/** The REST API for frontends, as one plugin over its dependencies. */
export const apiGateway = fp<ApiGatewayDeps>(
  async (app, deps) => {
    await registerOpenApi(app, {
      title: 'autoflow api-gateway',
      description: 'Workflows, executions, accounts and the catalog',
    });
    registerProblemHandlers(app);
    await registerCors(app, { allowedOrigins: deps.corsAllowedOrigins ?? new Set(), pathPrefix: '/api/' });
    registerHealthRoutes(app, deps.readiness);
    // The reference of every public route (all apps: the committed, merged document), served offline:
    // the plugin embeds its script, and no font or CDN is fetched.
    const mergedDocument = readOpenApiDocument();
    await app.register(apiReference, {
      routePrefix: '/docs',
      configuration: {
        content: () => mergedDocument,
        pageTitle: 'autoflow API',
        withDefaultFonts: false,
        hideClientButton: true,
        telemetry: false,
      },
    });
    await deps.rateLimits.register(app);
    await app.register(authRoutes, deps);
    await app.register(catalogRoutes, deps);
    await app.register(workflowRoutes, deps);
    await app.register(executionRoutes, deps);
    await app.register(credentialRoutes, deps);
    // The Temporal UI's codec server: a run's owner reads its payloads in the UI.
    await app.register(codecServerRoutes, {
      keyring: deps.payloadKeyring,
      tokens: deps.tokens,
      allowedOrigin: deps.temporalUiOrigin,
    });
  },
  { name: 'api-gateway' },
);
