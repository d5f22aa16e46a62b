import type { Keyring } from '@autoflow/crypto';
import { type Database, workflows } from '@autoflow/db';
import { ProblemError, problems } from '@autoflow/http-kit';
import { toJson } from '@autoflow/provider-registry';
import type { RunStarter } from '@autoflow/runs';
import { EVENT_ID_PATTERN, type JsonValue } from '@autoflow/workflow-contracts';
import { and, eq } from 'drizzle-orm';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { z } from 'zod';

export interface WebhookRouteDeps {
  db: Database;
  keyring: Keyring;
  runs: RunStarter;
  maxBodyBytes: number;
}

/** Headers that authenticate the sender; they are not the workflow's data. */
const HIDDEN_HEADERS = new Set(['authorization', 'cookie', 'webhook-signature', 'proxy-authorization']);

function visibleHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const visible: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HIDDEN_HEADERS.has(name)) continue;
    visible[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return visible;
}

function parseBody(raw: string, contentType: string | undefined): JsonValue {
  if (raw.length === 0) return null;
  if (/\bjson\b/i.test(contentType ?? '')) {
    try {
      return toJson(JSON.parse(raw));
    } catch {
      throw new ProblemError(400, 'invalid_json', 'Invalid JSON', 'the body is not valid JSON');
    }
  }
  if (/application\/x-www-form-urlencoded/i.test(contentType ?? '')) {
    return Object.fromEntries(new URLSearchParams(raw));
  }
  return raw;
}

function headerValue(value: string | string[] | undefined): string {
  return (Array.isArray(value) ? value[0] : value) ?? '';
}

export const webhookRoutes: FastifyPluginAsyncZod<WebhookRouteDeps> = async (
  app,
  { db, keyring, runs, maxBodyBytes },
) => {
  // The raw text is kept: signatures are computed over the exact bytes the sender sent.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: maxBodyBytes }, (_request, body, done) =>
    done(null, body),
  );

  app.post(
    '/hooks/:hookId',
    {
      schema: {
        tags: ['webhooks'],
        params: z.object({ hookId: z.string().min(1).max(64) }),
        querystring: z.record(z.string(), z.string()),
        response: { 202: z.object({ accepted: z.literal(true), duplicate: z.boolean() }) },
      },
    },
    async (request, reply) => {
      const raw = typeof request.body === 'string' ? request.body : '';
      const [workflow] = await db
        .select()
        .from(workflows)
        .where(and(eq(workflows.webhookId, request.params.hookId), eq(workflows.isActive, true)));
      if (!workflow) throw problems.notFound('hook');

      const webhookId = request.headers['webhook-id'];
      if (workflow.webhookSecret) {
        const secret = keyring.decrypt(workflow.webhookSecret, {
          table: 'workflows',
          column: 'webhook_secret',
          row: request.params.hookId,
        });
        try {
          new Webhook(secret).verify(raw, {
            'webhook-id': headerValue(webhookId),
            'webhook-timestamp': headerValue(request.headers['webhook-timestamp']),
            'webhook-signature': headerValue(request.headers['webhook-signature']),
          });
        } catch (error) {
          if (!(error instanceof WebhookVerificationError)) throw error;
          throw new ProblemError(401, 'invalid_signature', 'Invalid signature', error.message);
        }
      }
      const eventId = webhookId === undefined ? undefined : headerValue(webhookId);
      if (eventId !== undefined && !EVENT_ID_PATTERN.test(eventId)) {
        throw problems.validationFailed([
          { path: ['headers', 'webhook-id'], message: `must match ${EVENT_ID_PATTERN}` },
        ]);
      }

      const triggerData = {
        body: parseBody(raw, request.headers['content-type']),
        headers: visibleHeaders(request.headers),
        query: request.query,
      };
      try {
        const run = await runs.start({ workflow, source: 'webhook', eventId, triggerData });
        return reply.code(202).send({ accepted: true, duplicate: !run.started });
      } catch (error) {
        request.log.error({ err: error, workflowId: workflow.id }, 'Temporal did not accept the run');
        throw problems.unavailable('the event could not be accepted; retry later');
      }
    },
  );
};
