import {
  defineAction,
  PermanentActionError,
  RetryableActionError,
  TokenRejectedError,
} from '@autoflow/provider-registry';
import { WebAPIHTTPError, WebAPIPlatformError, WebAPIRateLimitedError, WebClient } from '@slack/web-api';
import { z } from 'zod';
import { slackSettings } from '../settings.js';

export const SLACK_QUEUE = 'slack-queue';
/** Slack errors that retrying cannot fix; the rest (internal_error, fatal_error, …) are retried. */
const PERMANENT_ERRORS = new Set([
  'channel_not_found',
  'not_in_channel',
  'is_archived',
  'msg_too_long',
  'no_text',
  'invalid_blocks',
  'invalid_auth',
  'not_authed',
  'token_revoked',
  'account_inactive',
  'missing_scope',
]);

/** Slack's answers (HTTP 200, `ok: false`) for a token it no longer honours: worth one renewal. */
const REJECTED_TOKEN_ERRORS = new Set(['invalid_auth', 'token_expired', 'token_revoked']);

function toActionError(error: unknown): Error {
  if (error instanceof WebAPIRateLimitedError) {
    return new RetryableActionError('Slack rate limit', error.retryAfter * 1000);
  }
  if (error instanceof WebAPIHTTPError && error.statusCode === 401) {
    return new TokenRejectedError('Slack answered HTTP 401');
  }
  if (error instanceof WebAPIHTTPError && error.statusCode >= 400 && error.statusCode < 500) {
    return new PermanentActionError(`Slack answered HTTP ${error.statusCode}`);
  }
  if (error instanceof WebAPIPlatformError) {
    const code = String(error.data.error);
    if (REJECTED_TOKEN_ERRORS.has(code)) return new TokenRejectedError(`Slack refused the token: ${code}`);
    if (PERMANENT_ERRORS.has(code)) return new PermanentActionError(`Slack refused the message: ${code}`);
    return new RetryableActionError(`Slack answered ${code}`);
  }
  return new RetryableActionError(
    `Slack could not be reached: ${error instanceof Error ? error.message : String(error)}`,
  );
}

export const postMessageAction = defineAction({
  id: 'post-message',
  name: 'Post a message',
  description:
    'Posts to a Slack channel as the connected bot. Rate-limited on slack-queue; honours Retry-After.',
  config: z.object({
    channel: z.string().min(1).max(200),
    text: z.string().min(1).max(40_000),
    blocks: z.array(z.record(z.string(), z.unknown())).max(50).optional(),
  }),
  output: z.object({ channel: z.string(), ts: z.string() }),
  settings: slackSettings,
  // Queued, not local: Slack allows about one message a second per channel, enforced per queue.
  execution: { mode: 'queued', taskQueue: SLACK_QUEUE },
  sampleConfig: () => ({ channel: '#general', text: 'Hello' }),
  async run({ config, credential, settings }) {
    if (!credential) throw new PermanentActionError('post-message needs a Slack credential');
    const slackApiUrl = settings.SLACK_API_URL.replace(/\/?$/, '/');
    return credential.withAccessTokenFor(slackApiUrl, async (accessToken) => {
      // Retries belong to Temporal (durable, with the server's Retry-After), not to the client.
      const client = new WebClient(accessToken, {
        slackApiUrl,
        retryConfig: { retries: 0 },
        rejectRateLimitedCalls: true,
      });
      try {
        const answer = await client.chat.postMessage({
          channel: config.channel,
          text: config.text,
          ...(config.blocks ? { blocks: config.blocks } : {}),
        });
        return { channel: String(answer.channel ?? config.channel), ts: String(answer.ts ?? '') };
      } catch (error) {
        throw toActionError(error);
      }
    });
  },
});
