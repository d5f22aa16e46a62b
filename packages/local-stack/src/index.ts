export * from './apps.js';
export * from './launch.js';
export * from './namespaces.js';
export * from './postgres.js';
export * from './proxy.js';
export * from './temporal-dev-server.js';
export * from './temporal-server.js';
export * from './test-services.js';
