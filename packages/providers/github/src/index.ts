import { defineProvider } from '@autoflow/provider-registry';
import { createIssueAction } from './actions/create-issue.js';
import { githubAuth } from './auth.js';
import { githubSettings } from './settings.js';
import { eventTrigger } from './triggers/event.js';

export const githubProvider = defineProvider({
  id: 'github',
  name: 'GitHub',
  auth: githubAuth,
  settings: githubSettings,
  triggers: [eventTrigger],
  actions: [createIssueAction],
});
