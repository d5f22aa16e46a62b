export * from './definitions.js';
export * from './json-schema.js';
export * from './json-size.js';
export * from './registry.js';
export * from './templates.js';
export * from './webhooks.js';
