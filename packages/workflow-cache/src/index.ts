export { workflowByHookId } from './load.js';
export {
  type LookupResult,
  WebhookWorkflowCache,
  type WebhookWorkflowCacheOptions,
  WORKFLOW_HOOKS_CHANNEL,
} from './webhook-workflow-cache.js';
