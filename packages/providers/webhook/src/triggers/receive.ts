import { defineTrigger } from '@autoflow/provider-registry';
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
});
