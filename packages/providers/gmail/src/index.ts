import { defineProvider } from '@autoflow/provider-registry';
import { googleAuth } from './auth.js';

export { googleAuth } from './auth.js';

export const gmailProvider = defineProvider({
  id: 'gmail',
  name: 'Gmail',
  auth: googleAuth,
  triggers: [],
  actions: [],
});
