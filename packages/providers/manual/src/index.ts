import { defineProvider } from '@autoflow/provider-registry';
import { runTrigger } from './triggers/run.js';

export const manualProvider = defineProvider({
  id: 'manual',
  name: 'Manual',
  auth: { type: 'none' },
  triggers: [runTrigger],
  actions: [],
});
