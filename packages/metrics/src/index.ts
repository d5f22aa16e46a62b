export * from './exposition.js';
export * from './metrics.js';
export * from './plugin.js';
export * from './temporal-sdk.js';
