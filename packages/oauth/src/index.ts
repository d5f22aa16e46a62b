export * from './connector.js';
export * from './credential-service.js';
