export {
  type LookupResult,
  type NotificationSource,
  WebhookWorkflowCache,
  type WebhookWorkflowCacheOptions,
  WORKFLOW_HOOKS_CHANNEL,
} from './webhook-workflow-cache.js';
