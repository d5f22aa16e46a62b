import type { InboundRequest, PushEndpoint, PushReceipt } from '@autoflow/provider-registry';
import type { JsonValue } from '@autoflow/workflow-contracts';
import { z } from 'zod';
import type { SlackSettings } from './settings.js';
import { slackSignature, verifySlackRequest } from './signature.js';
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
  async contractSamples() {
    const secret = 'contract-signing-secret';
    const now = Math.floor(Date.now() / 1000);
    const signed = (body: unknown, options: { timestamp?: number; secret?: string } = {}): InboundRequest => {
      const rawBody = JSON.stringify(body);
      const timestamp = String(options.timestamp ?? now);
      return {
        rawBody,
        query: {},
        headers: {
          'content-type': 'application/json',
          'x-slack-request-timestamp': timestamp,
          'x-slack-signature': slackSignature(options.secret ?? secret, timestamp, rawBody),
        },
      };
    };
    const message = {
      type: 'event_callback',
      team_id: 'T0CONTRACT',
      event_id: 'Ev0CONTRACT1',
      event: {
        type: 'message',
        channel: 'C0CONTRACT',
        user: 'U0CONTRACT',
        text: 'hello',
        ts: `${now}.000100`,
      },
    };
    const event = signed(message);
    return {
      env: { SLACK_SIGNING_SECRET: secret },
      event,
      forgeries: [
        signed(message, { secret: 'another-secret' }),
        signed(message, { timestamp: now - 6 * 60 }),
        { ...event, rawBody: event.rawBody.replace('hello', 'hullo') },
        { ...event, headers: { 'content-type': 'application/json' } },
      ],
      challenge: {
        request: signed({ type: 'url_verification', token: 'unused', challenge: 'contract-challenge' }),
        answer: { challenge: 'contract-challenge' },
      },
    };
  },
};
