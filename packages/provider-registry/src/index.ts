export * from './definitions.js';
export * from './json-schema.js';
export * from './registry.js';
export * from './templates.js';
export * from './webhooks.js';
