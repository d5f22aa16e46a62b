import { defineProvider } from '@autoflow/provider-registry';
import { slackAuth } from './auth.js';

export { slackAuth } from './auth.js';

export const slackProvider = defineProvider({
  id: 'slack',
  name: 'Slack',
  auth: slackAuth,
  triggers: [],
  actions: [],
});
