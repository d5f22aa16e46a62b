import { defineProvider } from '@autoflow/provider-registry';
import { receiveTrigger } from './triggers/receive.js';

export { receiveTrigger, type WebhookTriggerConfig } from './triggers/receive.js';

export const webhookProvider = defineProvider({
  id: 'webhook',
  name: 'Webhook',
  auth: { type: 'none' },
  triggers: [receiveTrigger],
  actions: [],
});
