import type { PushEndpoint, PushVerifier } from '@autoflow/provider-registry';
import { GMAIL_MAILBOX_SIGNALS, type GmailNotification } from './contracts.js';
import { createPushVerifier, decodeGmailPush, PushRejected } from './push.js';
import type { GmailSettings } from './settings.js';

/**
 * Gmail's Pub/Sub push (POST /push/gmail, and /pubsub/gmail where subscriptions in the field point). It
 * only announces `{emailAddress, historyId}` to the mailbox workflow, which reads the history itself:
 * redeliveries are harmless since the workflow's cursor has moved past them. A malformed message is
 * acknowledged, since no redelivery can fix it.
 */
export const gmailPushEndpoint: PushEndpoint<GmailSettings> = {
  summary: 'Gmail notifications from a Cloud Pub/Sub push subscription (OIDC token checked)',
  maxBodyBytes: 64 * 1024,
  verifier(settings): PushVerifier | undefined {
    const audience = settings.PUBSUB_PUSH_AUDIENCE;
    const serviceAccount = settings.PUBSUB_PUSH_SERVICE_ACCOUNT;
    if (!audience || !serviceAccount) return undefined;
    const verify = createPushVerifier({ audience, serviceAccount, jwksUrl: settings.PUBSUB_PUSH_JWKS_URL });
    return async (request) => {
      try {
        await verify(request.headers.authorization);
        return { accepted: true };
      } catch (error) {
        if (!(error instanceof PushRejected)) throw error;
        return { accepted: false, code: 'invalid_token', reason: error.message };
      }
    };
  },
  receive(request) {
    const acknowledgement = { status: 204 } as const;
    const notification = decodeGmailPush(request.rawBody);
    if (!notification) return { acknowledgement, events: [], dropped: 'malformed Gmail push' };
    const payload: GmailNotification = { historyId: notification.historyId };
    return {
      acknowledgement,
      events: [
        {
          deliver: 'listener-signal',
          triggerId: 'receive-email',
          account: notification.emailAddress,
          signal: GMAIL_MAILBOX_SIGNALS.notification,
          payload: { ...payload },
        },
      ],
    };
  },
};
