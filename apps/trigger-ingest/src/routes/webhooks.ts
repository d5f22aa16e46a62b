import type { FieldEncryption } from '@autoflow/crypto';
import type { Workflow } from '@autoflow/db';
import { ProblemError, problemResponse, problems } from '@autoflow/http-kit';
import { type InboundRequest, InvalidWebhookBody, type ProviderRegistry } from '@autoflow/provider-registry';
import type { RunStarter, StartedRun } from '@autoflow/runs';
import {
  EVENT_ID_PATTERN,
  exceedsJsonTextDepth,
  MAX_JSON_DEPTH,
  MAX_TRIGGER_DATA_BYTES,
} from '@autoflow/workflow-contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';

export interface WorkflowsByHook {
  /** The row with this webhook id, active or not; undefined when none has it. */
  get(hookId: string): Promise<Workflow | undefined>;
}

export interface WebhookRouteDeps {
  workflowsByHook: WorkflowsByHook;
  keyring: FieldEncryption;
  registry: ProviderRegistry;
  runs: RunStarter;
  maxBodyBytes: number;
}

export function singleValues(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) values[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return values;
}

/**
 * POST /hooks/:hookId for every webhook trigger. The workflow's trigger decides how to verify the
 * sender, which delivery id deduplicates, and what the run receives (its `webhook` handling), so a new
 * webhook provider needs no change here.
 */
export const webhookRoutes: FastifyPluginAsyncZod<WebhookRouteDeps> = async (
  app,
  { workflowsByHook, keyring, registry, runs, maxBodyBytes },
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
        operationId: 'receiveWebhook',
        // Any content type: the route's own parser keeps the raw text (no 415).
        consumes: ['*/*'],
        summary: 'Starts a run of the workflow that owns the hook; answers once Temporal has the event',
        description:
          'Any content type; the raw body is kept for signature checks (Standard Webhooks, GitHub’s ' +
          '`X-Hub-Signature-256`, as the trigger decides). A delivery id the trigger reads (`webhook-id`, ' +
          '`X-GitHub-Delivery`) deduplicates: a repeat answers `duplicate: true` and starts nothing.',
        // Hook ids are base64url; anything else (U+0000, `%`, …) names no hook and never reaches the database.
        params: z.object({
          hookId: z
            .string()
            .regex(/^[A-Za-z0-9_-]{1,64}$/, 'not a hook id')
            .meta({ examples: ['q3J9x0aZ_2bLk8sWc4mN5pQr7tUv1yXz'] }),
        }),
        querystring: z.record(z.string(), z.string()),
        response: {
          202: z
            .object({
              accepted: z.literal(true),
              duplicate: z.boolean(),
              ignored: z
                .boolean()
                .optional()
                .describe('Verified, but not an event the workflow listens to; no run.'),
            })
            .meta({ examples: [{ accepted: true, duplicate: false }] }),
          400: problemResponse(
            400,
            'A body the trigger cannot read or nested too deep (`invalid_body`), a bad delivery id or query (`validation_failed`).',
          ),
          401: problemResponse(401, 'The signature does not match: `invalid_signature`.'),
          404: problemResponse(404, 'No active workflow has this hook: `not_found`.'),
          413: problemResponse(
            413,
            'The body is over WEBHOOK_MAX_BODY_BYTES, or the event’s data over MAX_TRIGGER_DATA_BYTES (`trigger_data_too_large`).',
          ),
          422: problemResponse(
            422,
            'The workflow’s action is not installed: `action_unavailable`. Do not retry.',
          ),
          503: problemResponse(
            503,
            'Temporal did not accept the run (`service_unavailable`) or the key provider is unavailable; retry later.',
          ),
        },
      },
    },
    async (request, reply) => {
      const found = await workflowsByHook.get(request.params.hookId);
      const workflow = found?.isActive ? found : undefined;
      const trigger = workflow && registry.trigger(workflow.triggerProvider, workflow.triggerId);
      const handling = trigger?.webhook;
      if (!workflow || !trigger || !handling) {
        // One answer for both, so that it does not tell which hooks exist; the metrics tell them apart.
        const notFound = problems.notFound('hook');
        notFound.reason = found && !found.isActive ? 'inactive' : 'unknown_hook';
        throw notFound;
      }

      const rawBody = typeof request.body === 'string' ? request.body : '';
      // Measured on the text, before any parser or walk recurses into it.
      if (
        /\bjson\b/i.test(request.headers['content-type'] ?? '') &&
        exceedsJsonTextDepth(rawBody, MAX_JSON_DEPTH)
      ) {
        throw new ProblemError(
          400,
          'invalid_body',
          'Invalid body',
          `the body nests deeper than ${MAX_JSON_DEPTH} levels`,
        );
      }
      const inbound: InboundRequest = {
        rawBody,
        headers: singleValues(request.headers),
        query: request.query,
      };
      if (workflow.webhookSecret) {
        const secret = await keyring.decrypt(workflow.webhookSecret, {
          table: 'workflows',
          column: 'webhook_secret',
          row: request.params.hookId,
        });
        if (!handling.verify(inbound, secret)) {
          throw new ProblemError(
            401,
            'invalid_signature',
            'Invalid signature',
            'the signature does not match',
          );
        }
      }
      const eventId = handling.eventId(inbound);
      if (eventId !== undefined && !EVENT_ID_PATTERN.test(eventId)) {
        throw problems.validationFailed([
          { path: ['headers', 'delivery id'], message: `must match ${EVENT_ID_PATTERN}` },
        ]);
      }
      let triggerData: ReturnType<typeof handling.output>;
      try {
        // Stored config passed validation when saved; parsing applies the schema's defaults.
        triggerData = handling.output(inbound, trigger.config.parse(workflow.triggerConfig));
      } catch (error) {
        if (error instanceof InvalidWebhookBody)
          throw new ProblemError(400, 'invalid_body', 'Invalid body', error.message);
        throw error;
      }
      // Verified, but not an event this workflow listens to (e.g. a GitHub event type it did not choose).
      if (triggerData === undefined)
        return reply.code(202).send({ accepted: true, duplicate: false, ignored: true });
      // The raw body is capped, but headers and JSON escaping add to it; Temporal would refuse the run.
      const triggerDataBytes = Buffer.byteLength(JSON.stringify(triggerData));
      if (triggerDataBytes > MAX_TRIGGER_DATA_BYTES) {
        throw new ProblemError(
          413,
          'trigger_data_too_large',
          'Event too large',
          `the event's data (body, headers and query as JSON) is ${triggerDataBytes} bytes; at most ${MAX_TRIGGER_DATA_BYTES} (MAX_TRIGGER_DATA_BYTES)`,
        );
      }
      let run: StartedRun;
      try {
        run = await runs.start({ workflow, source: 'webhook', eventId, triggerData, requestId: request.id });
      } catch (error) {
        request.log.error({ err: error, workflowId: workflow.id }, 'Temporal did not accept the run');
        throw problems.unavailable('the event could not be accepted; retry later');
      }
      // Recorded as a failed execution; a retry would fail the same way, so the sender must not retry.
      if (run.unavailable) throw problems.actionUnavailable(run.unavailable);
      // Ties this request's id (the line's reqId) to the run's Temporal workflow id.
      request.log.info(
        { workflowId: workflow.id, temporalWorkflowId: run.temporalWorkflowId, started: run.started },
        'run accepted',
      );
      return reply.code(202).send({ accepted: true, duplicate: !run.started });
    },
  );
};
