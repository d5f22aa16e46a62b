export * from './auth.js';
export { unsetWhenEmpty } from './env.js';
export * from './health.js';
export * from './logging.js';
export * from './openapi.js';
export * from './problem.js';
export * from './rate-limit.js';
export * from './server.js';
export * from './trust-proxy.js';
