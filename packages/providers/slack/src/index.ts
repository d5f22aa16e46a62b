import { defineProvider } from '@autoflow/provider-registry';
import { postMessageAction, SLACK_QUEUE } from './actions/post-message.js';
import { slackAuth } from './auth.js';
import { slackEventsEndpoint } from './events.js';
import { slackSettings } from './settings.js';
import { messagePostedTrigger } from './triggers/message-posted.js';
import { createWorkspaceActivities } from './workspace.js';

export { slackAuth } from './auth.js';
export * from './contracts.js';
export { slackEventsEndpoint } from './events.js';
export { type SlackSettings, slackSettings } from './settings.js';
export { slackSignature, verifySlackRequest } from './signature.js';

export const slackProvider = defineProvider({
  id: 'slack',
  name: 'Slack',
  auth: slackAuth,
  settings: slackSettings,
  queues: { [SLACK_QUEUE]: { maxActivitiesPerSecond: 1 } },
  triggers: [messagePostedTrigger],
  actions: [postMessageAction],
  push: slackEventsEndpoint,
  listenerActivities: (services) => ({ ...createWorkspaceActivities(services) }),
});
