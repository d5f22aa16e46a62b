import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { defineTrigger, parseWebhookBody, toJson } from '@autoflow/provider-registry';
import { z } from 'zod';

const EVENTS = ['issues', 'push'] as const;

function field(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const key of path) {
    if (typeof current !== 'object' || current === null || Array.isArray(current)) return undefined;
    current = Object.entries(current).find(([name]) => name === key)?.[1];
  }
  return current;
}

const text = (value: unknown) => (typeof value === 'string' ? value : null);

export const eventTrigger = defineTrigger({
  id: 'event',
  name: 'Repository event',
  description:
    'Runs on the repository events you choose. Paste the workflow’s webhook URL and secret into GitHub.',
  kind: 'webhook',
  config: z.object({ events: z.array(z.enum(EVENTS)).min(1).default(['issues']) }).strict(),
  output: z.object({
    event: z.enum(EVENTS),
    action: z.string().nullable(),
    repository: z.string().nullable(),
    sender: z.string().nullable(),
    payload: z.unknown(),
  }),
  sampleOutput: {
    event: 'issues',
    action: 'opened',
    repository: 'octo-org/hello',
    sender: 'octocat',
    payload: { issue: { number: 1, title: 'Found a bug' } },
  },
  webhook: {
    // GitHub signs every delivery with the secret the user pastes next to the URL.
    secret: 'required',
    wantsSecret: () => true,
    verify(request, secret) {
      const signature = request.headers['x-hub-signature-256'] ?? '';
      const expected = `sha256=${createHmac('sha256', secret).update(request.rawBody).digest('hex')}`;
      return (
        signature.length === expected.length && timingSafeEqual(Buffer.from(signature), Buffer.from(expected))
      );
    },
    // X-GitHub-Delivery is outside the signature: a captured delivery replayed under a new id would
    // pass verification. The event is what the signature covers, the body (GitHub's payloads are
    // unique per event, and its redeliveries resend the same bytes).
    eventId: (request) => `body-sha256:${createHash('sha256').update(request.rawBody).digest('hex')}`,
    output(request, config) {
      const event = EVENTS.find((name) => name === request.headers['x-github-event']);
      if (!event || !config.events.includes(event)) return undefined;
      const payload = toJson(
        parseWebhookBody(request.rawBody, request.headers['content-type'] ?? 'application/json'),
      );
      return {
        event,
        action: text(field(payload, 'action')),
        repository: text(field(payload, 'repository', 'full_name')),
        sender: text(field(payload, 'sender', 'login')),
        payload,
      };
    },
  },
});
