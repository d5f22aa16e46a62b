// The workflow bundle's entry: every workflow type the worker serves.

export * from '@autoflow/installed-providers/workflows';
export { automationWorkflow } from './automation.js';
