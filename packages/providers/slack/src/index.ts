import { defineProvider } from '@autoflow/provider-registry';
import { postMessageAction, SLACK_QUEUE } from './actions/post-message.js';
import { slackAuth } from './auth.js';
import { slackSettings } from './settings.js';

export { slackAuth } from './auth.js';

export const slackProvider = defineProvider({
  id: 'slack',
  name: 'Slack',
  auth: slackAuth,
  settings: slackSettings,
  queues: { [SLACK_QUEUE]: { maxActivitiesPerSecond: 1 } },
  triggers: [],
  actions: [postMessageAction],
});
