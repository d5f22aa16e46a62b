import { createHmac, timingSafeEqual } from 'node:crypto';
import type { InboundRequest, PushVerdict } from '@autoflow/provider-registry';

/** How far a request's timestamp may be from our clock: Slack's own advice, against replays. */
export const SLACK_SIGNATURE_TOLERANCE_SECONDS = 5 * 60;

/** Slack's v0 signature of a request body: `v0=` and the hex HMAC-SHA256 of `v0:{timestamp}:{body}`. */
export function slackSignature(signingSecret: string, timestamp: string, rawBody: string): string {
  return `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${rawBody}`).digest('hex')}`;
}

const refused = (reason: string): PushVerdict => ({ accepted: false, code: 'invalid_signature', reason });

/**
 * Checks `X-Slack-Signature` over the exact body, compared in constant time, with a timestamp
 * (`X-Slack-Request-Timestamp`) within five minutes of `nowMs`: a captured request cannot be replayed later.
 */
export function verifySlackRequest(
  request: InboundRequest,
  signingSecret: string,
  nowMs: number,
): PushVerdict {
  const timestamp = request.headers['x-slack-request-timestamp'] ?? '';
  const signature = request.headers['x-slack-signature'] ?? '';
  if (!/^\d{1,12}$/.test(timestamp) || !signature) return refused('no Slack signature');
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > SLACK_SIGNATURE_TOLERANCE_SECONDS)
    return refused('the Slack timestamp is over five minutes away');
  const expected = Buffer.from(slackSignature(signingSecret, timestamp, request.rawBody));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given))
    return refused('the Slack signature does not match');
  return { accepted: true };
}
