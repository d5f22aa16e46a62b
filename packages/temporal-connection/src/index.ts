export * from './env.js';
export * from './options.js';
