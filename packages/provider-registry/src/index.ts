export * from './credential-hosts.js';
export * from './definitions.js';
export * from './json-schema.js';
export * from './registry.js';
export * from './settings.js';
export * from './templates.js';
export * from './url-templates.js';
export * from './webhooks.js';
