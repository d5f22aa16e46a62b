import { defineProvider } from '@autoflow/provider-registry';
import { readEmailAction } from './actions/read-email.js';
import { sendEmailAction } from './actions/send-email.js';
import { googleAuth } from './auth.js';
import { createMailboxActivities } from './mailbox.js';
import { gmailPushEndpoint } from './push-endpoint.js';
import { GMAIL_QUEUE, GMAIL_QUEUE_ACTIVITIES_PER_SECOND } from './queue.js';
import { gmailSettings } from './settings.js';
import { receiveEmailTrigger } from './triggers/receive-email.js';

export { googleAuth } from './auth.js';
export * from './contracts.js';
export { gmailPushEndpoint } from './push-endpoint.js';
export { type GmailSettings, gmailSettings } from './settings.js';

export const gmailProvider = defineProvider({
  id: 'gmail',
  name: 'Gmail',
  auth: googleAuth,
  settings: gmailSettings,
  queues: { [GMAIL_QUEUE]: { maxActivitiesPerSecond: GMAIL_QUEUE_ACTIVITIES_PER_SECOND } },
  triggers: [receiveEmailTrigger],
  push: gmailPushEndpoint,
  actions: [sendEmailAction, readEmailAction],
  listenerActivities: (services) => ({ ...createMailboxActivities(services) }),
});
export {
  createPushVerifier,
  decodeGmailPush,
  type GmailPushNotification,
  GOOGLE_JWKS_URL,
  type PushAuthSettings,
  PushRejected,
} from './push.js';
