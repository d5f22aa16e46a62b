import { defineProvider } from '@autoflow/provider-registry';
import { requestAction } from './actions/request.js';

export const httpProvider = defineProvider({
  id: 'http',
  name: 'HTTP',
  auth: { type: 'none' },
  triggers: [],
  actions: [requestAction],
});
