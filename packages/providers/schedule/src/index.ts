import { defineProvider } from '@autoflow/provider-registry';
import { cronTrigger } from './triggers/cron.js';

export { cronTrigger, INTERVAL_PATTERN, type ScheduleTriggerConfig } from './triggers/cron.js';

export const scheduleProvider = defineProvider({
  id: 'schedule',
  name: 'Schedule',
  auth: { type: 'none' },
  triggers: [cronTrigger],
  actions: [],
});
