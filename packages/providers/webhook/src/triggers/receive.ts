import { defineTrigger, parseWebhookBody, visibleHeaders } from '@autoflow/provider-registry';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { z } from 'zod';

const config = z
  .object({
    /**
     * Require Standard Webhooks signatures (`webhook-id`, `webhook-timestamp`, `webhook-signature`).
     * The workflow then gets a signing secret, shown to its owner once.
     */
    verifySignature: z.boolean().default(false),
  })
  .strict();

export type WebhookTriggerConfig = z.output<typeof config>;

export const receiveTrigger = defineTrigger({
  id: 'receive',
  name: 'Receive a webhook',
  description: 'Runs when a request arrives at the workflow’s own URL.',
  kind: 'webhook',
  config,
  output: z.object({
    body: z.unknown(),
    headers: z.record(z.string(), z.string()),
    query: z.record(z.string(), z.string()),
  }),
  sampleOutput: {
    body: { name: 'Ada', order: { id: 42 } },
    headers: { 'content-type': 'application/json' },
    query: {},
  },
  webhook: {
    secret: 'optional',
    wantsSecret: (settings) => settings.verifySignature,
    verify(request, secret) {
      try {
        new Webhook(secret).verify(request.rawBody, {
          'webhook-id': request.headers['webhook-id'] ?? '',
          'webhook-timestamp': request.headers['webhook-timestamp'] ?? '',
          'webhook-signature': request.headers['webhook-signature'] ?? '',
        });
        return true;
      } catch (error) {
        if (error instanceof WebhookVerificationError) return false;
        throw error;
      }
    },
    eventId: (request) => request.headers['webhook-id'],
    output: (request) => ({
      body: parseWebhookBody(request.rawBody, request.headers['content-type']),
      headers: visibleHeaders(request.headers),
      query: { ...request.query },
    }),
  },
});
