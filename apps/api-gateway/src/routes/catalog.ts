import { authenticate } from '@autoflow/http-kit';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ApiGatewayDeps } from '../deps.js';
import { catalogSchema } from '../schemas.js';

export const catalogRoutes: FastifyPluginAsyncZod<ApiGatewayDeps> = async (app, { tokens, registry }) => {
  app.get(
    '/api/catalog',
    {
      schema: {
        tags: ['catalog'],
        operationId: 'getCatalog',
        summary: 'The installed providers: their triggers and actions, with JSON Schemas for config forms',
        security: [{ bearer: [] }],
        response: { 200: catalogSchema },
      },
    },
    async (request) => {
      await authenticate(tokens, request);
      return { providers: registry.catalog() };
    },
  );
};
