// `schema.hide` (keeps /metrics out of the OpenAPI document) is @fastify/swagger's.
import type {} from '@fastify/swagger';
import fp from 'fastify-plugin';
import type { AutoflowMetrics } from './metrics.js';

export interface MetricsPluginOptions {
  metrics: AutoflowMetrics;
  /** Where the exposition is served. Default `/metrics`. */
  path?: string;
}

/** The route label of requests no route matched: raw URLs (ids, probes for files) never become labels. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * Serves the process's metrics at `/metrics` and times every answer (RED: rate, errors, duration) by
 * method, route template (`/hooks/:hookId`, never the URL itself) and status code. Register it before
 * the app's routes. The scrapes themselves are not counted.
 */
export const metricsPlugin = fp<MetricsPluginOptions>(
  async (app, { metrics, path = '/metrics' }) => {
    app.addHook('onResponse', async (request, reply) => {
      const route = request.routeOptions.url ?? UNMATCHED_ROUTE;
      if (route === path) return;
      metrics.httpRequestDuration.observe(
        { method: request.method, route, status_code: String(reply.statusCode) },
        reply.elapsedTime / 1000,
      );
    });
    app.get(path, { schema: { hide: true } }, async (_request, reply) =>
      reply.type(metrics.registry.contentType).send(await metrics.exposition()),
    );
  },
  { name: 'autoflow-metrics', fastify: '5.x' },
);
