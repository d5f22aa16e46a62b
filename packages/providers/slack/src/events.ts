import type { PushEndpoint, PushReceipt } from '@autoflow/provider-registry';
import type { JsonValue } from '@autoflow/workflow-contracts';
import { z } from 'zod';
import type { SlackSettings } from './settings.js';
import { verifySlackRequest } from './signature.js';
import { messagePostedConfig } from './triggers/message-posted.js';

const urlVerification = z.object({
  type: z.literal('url_verification'),
  challenge: z.string().min(1).max(500),
});

const eventCallback = z.object({
  type: z.literal('event_callback'),
  team_id: z.string().min(1).max(64),
  event_id: z.string().min(1).max(128),
  event: z.object({
    type: z.string(),
    subtype: z.string().optional(),
    channel: z.string().optional(),
    user: z.string().optional(),
    text: z.string().optional(),
    ts: z.string().optional(),
  }),
});

/** Slack wants a 2xx within 3 s; anything else makes it retry the event (X-Slack-Retry-Num). */
const acknowledged = { status: 200, body: { ok: true } } as const;

function readEvent(rawBody: string): PushReceipt {
  let body: unknown;
  try {
    body = JSON.parse(rawBody);
  } catch {
    return { acknowledgement: acknowledged, events: [], dropped: 'a Slack event that is not JSON' };
  }
  const challenge = urlVerification.safeParse(body);
  // Slack's check of the request URL when the app's events are set up: echo its challenge.
  if (challenge.success)
    return { acknowledgement: { status: 200, body: { challenge: challenge.data.challenge } }, events: [] };
  const callback = eventCallback.safeParse(body);
  if (!callback.success)
    return { acknowledgement: acknowledged, events: [], dropped: 'an unknown Slack request' };
  const { team_id: teamId, event_id: eventId, event } = callback.data;
  // Plain messages only: edits, joins and bots' own posts (subtypes) would loop or double.
  if (event.type !== 'message' || event.subtype || !event.channel || !event.user || !event.ts)
    return { acknowledgement: acknowledged, events: [] };
  const message = {
    teamId,
    channel: event.channel,
    user: event.user,
    text: event.text ?? '',
    ts: event.ts,
    eventId,
  };
  return {
    acknowledgement: acknowledged,
    events: [
      {
        deliver: 'trigger-runs',
        triggerId: 'message-posted',
        account: teamId,
        eventId,
        output(config): JsonValue | undefined {
          const wanted = messagePostedConfig.parse(config);
          if (wanted.channel !== message.channel) return undefined;
          if (wanted.textContains && !message.text.toLowerCase().includes(wanted.textContains.toLowerCase()))
            return undefined;
          return { ...message };
        },
      },
    ],
  };
}

/**
 * Slack's Events API (POST /push/slack): v0-signed requests, the url_verification challenge, and
 * message events routed by team id to the workspace's connected credential.
 */
export const slackEventsEndpoint: PushEndpoint<SlackSettings> = {
  summary:
    'Slack Events API: v0 signature (SLACK_SIGNING_SECRET), url_verification challenge, message events',
  maxBodyBytes: 256 * 1024,
  verifier(settings) {
    const signingSecret = settings.SLACK_SIGNING_SECRET;
    if (!signingSecret) return undefined;
    return async (request) => verifySlackRequest(request, signingSecret, Date.now());
  },
  receive: (request) => readEvent(request.rawBody),
};
