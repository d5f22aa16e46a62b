import { authenticate } from '@autoflow/http-kit';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ApiGatewayDeps } from '../deps.js';

export const catalogRoutes: FastifyPluginAsyncZod<ApiGatewayDeps> = async (app, { tokens, registry }) => {
  app.get('/api/catalog', { schema: { tags: ['catalog'], security: [{ bearer: [] }] } }, async (request) => {
    await authenticate(tokens, request);
    return { providers: registry.catalog() };
  });
};
