export * from './auth.js';
export { unsetWhenEmpty } from './env.js';
export * from './fastify-options.js';
export * from './health.js';
export * from './logging.js';
export * from './openapi.js';
export * from './problem.js';
export * from './server.js';
