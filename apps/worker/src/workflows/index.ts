// The workflow bundle's entry: every workflow type the worker serves.
export { automationWorkflow } from './automation.js';
