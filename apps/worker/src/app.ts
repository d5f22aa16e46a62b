import { type ReadinessChecks, registerHealthRoutes, registerProblemHandlers } from '@autoflow/http-kit';
import fp from 'fastify-plugin';

export interface WorkerHttpDeps {
  readiness: ReadinessChecks;
}

/** The worker serves nothing over HTTP but its health, for orchestrators to probe. */
export const workerHttp = fp<WorkerHttpDeps>(
  async (app, deps) => {
    registerProblemHandlers(app);
    registerHealthRoutes(app, deps.readiness);
  },
  { name: 'worker-http' },
);
