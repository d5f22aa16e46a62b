import { type Database, triggerListeners, workflows } from '@autoflow/db';
import { ProblemError, problemResponse, problems } from '@autoflow/http-kit';
import type {
  InboundRequest,
  ProviderRegistry,
  PushEvent,
  PushReceipt,
  PushRunsEvent,
  PushSignalEvent,
  PushVerifier,
} from '@autoflow/provider-registry';
import type { RunStarter } from '@autoflow/runs';
import { EVENT_ID_PATTERN, TASK_QUEUES } from '@autoflow/workflow-contracts';
import type { Client } from '@temporalio/client';
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { singleValues } from './webhooks.js';

export interface PushRouteDeps {
  db: Database;
  temporal: Client;
  registry: ProviderRegistry;
  runs: RunStarter;
  /** Each push endpoint's verifier (ProviderRegistry.pushVerifiers); undefined where push is not configured. */
  pushVerifiers: ReadonlyMap<string, PushVerifier | undefined>;
  /** Largest body the route's parser reads; each endpoint may accept less. */
  maxBodyBytes: number;
}

/** Where Gmail's Pub/Sub subscriptions in the field push: an alias of /push/gmail. */
export const GMAIL_PUSH_ALIAS = '/pubsub/gmail';

const responses = {
  200: z
    .record(z.string(), z.unknown())
    .describe('The acknowledgement the sender expects (e.g. a challenge echoed).'),
  204: z.null().describe('Temporal has the events (or there were none: a malformed message is dropped).'),
  401: problemResponse(
    401,
    'The request is not from the provider (`invalid_token`, `invalid_signature`, as the provider says), or push is not configured (`push_not_configured`).',
  ),
  404: problemResponse(404, 'No installed provider declares a push endpoint by this name: `not_found`.'),
  413: problemResponse(413, 'The body is over what the provider’s endpoint accepts.'),
  503: problemResponse(503, 'Temporal did not accept the events; the sender redelivers them.'),
};

/**
 * POST /push/:provider for every provider that declares a push endpoint (Gmail's Pub/Sub, …). The
 * provider verifies the request, reads its events and says what to answer; this route routes each
 * event to the listeners of its account and answers 2xx only once Temporal has them (a 503 makes the
 * sender redeliver).
 */
export const pushRoutes: FastifyPluginAsyncZod<PushRouteDeps> = async (app, deps) => {
  const { registry, pushVerifiers, maxBodyBytes } = deps;
  // Raw text: signatures cover the exact bytes, and a malformed body is for the provider to judge.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: maxBodyBytes }, (_request, body, done) =>
    done(null, body),
  );
  const pushProviders = registry.providers.filter((provider) => provider.push);

  app.post(
    '/push/:provider',
    {
      schema: {
        tags: ['push'],
        operationId: 'receivePush',
        consumes: ['*/*'],
        summary: 'Events of a push-style provider (one endpoint per provider that declares one)',
        description: pushProviders
          .map((provider) => `\`${provider.id}\`: ${provider.push?.summary ?? ''}`)
          .join('\n\n'),
        params: z.object({
          provider: z
            .string()
            .regex(/^[a-z0-9-]{1,50}$/, 'not a provider id')
            .meta({ examples: pushProviders.map((provider) => provider.id) }),
        }),
        response: responses,
      },
    },
    async (request, reply) => handlePush(deps, request.params.provider, request, reply),
  );

  app.post(
    GMAIL_PUSH_ALIAS,
    {
      schema: {
        tags: ['push'],
        operationId: 'receiveGmailPush',
        consumes: ['*/*'],
        summary: 'Gmail notifications from a Cloud Pub/Sub push subscription (alias of /push/gmail)',
        description:
          'Authenticated by the OIDC token Pub/Sub sends (`Authorization: Bearer …`, checked against ' +
          'PUBSUB_PUSH_AUDIENCE and PUBSUB_PUSH_SERVICE_ACCOUNT). A malformed message is acknowledged (204): ' +
          'no redelivery can fix it.',
        // Documents the token only: the provider checks it, and no body schema runs.
        headers: z.object({
          authorization: z
            .string()
            .optional()
            .describe('`Bearer` and the OIDC token Pub/Sub signs.')
            .meta({ examples: ['Bearer eyJhbGciOiJSUzI1NiJ9…'] }),
        }),
        response: responses,
      },
    },
    async (request, reply) => handlePush(deps, 'gmail', request, reply),
  );
};

interface PushRequest {
  id: string;
  body: unknown;
  headers: Record<string, string | string[] | undefined>;
  query: unknown;
  log: FastifyBaseLogger;
}

interface PushReply {
  code(status: number): { send(body: unknown): unknown };
}

async function handlePush(
  deps: PushRouteDeps,
  providerId: string,
  request: PushRequest,
  reply: PushReply,
): Promise<void> {
  const { registry, pushVerifiers } = deps;
  const provider = registry.provider(providerId);
  const endpoint = provider?.push;
  if (!provider || !endpoint) throw problems.notFound('push endpoint');
  const verify = pushVerifiers.get(provider.id);
  if (!verify) {
    throw new ProblemError(
      401,
      'push_not_configured',
      'Unauthorized',
      `${provider.name} push is not configured here`,
    );
  }
  const rawBody = typeof request.body === 'string' ? request.body : '';
  if (Buffer.byteLength(rawBody) > endpoint.maxBodyBytes) {
    throw new ProblemError(
      413,
      'err_ctp_body_too_large',
      'Payload Too Large',
      `the body is over ${endpoint.maxBodyBytes} bytes`,
    );
  }
  const inbound: InboundRequest = {
    rawBody,
    headers: singleValues(request.headers),
    query: stringValues(request.query),
  };
  const verdict = await verify(inbound);
  if (!verdict.accepted) {
    request.log.warn({ reason: verdict.reason }, `${provider.name} push refused`);
    throw new ProblemError(401, verdict.code, 'Unauthorized', `the ${provider.name} push is not authentic`);
  }
  const receipt: PushReceipt = endpoint.receive(inbound);
  if (receipt.dropped) request.log.warn(`${receipt.dropped}: acknowledged`);
  try {
    await Promise.all(receipt.events.map((event) => deliver(deps, provider.id, event, request)));
  } catch (error) {
    request.log.error({ err: error }, `Temporal did not accept the ${provider.name} push`);
    throw problems.unavailable('the events could not be accepted; the sender will redeliver them');
  }
  const { status, body } = receipt.acknowledgement;
  reply.code(status).send(body ?? null);
}

async function deliver(deps: PushRouteDeps, providerId: string, event: PushEvent, request: PushRequest) {
  const { log } = request;
  const credentialIds = await watchingCredentials(deps.db, providerId, event.account);
  if (credentialIds.length === 0) {
    log.info(`${providerId} push for an account nobody watches: acknowledged and dropped`);
    return;
  }
  if (event.deliver === 'listener-signal') await signalListeners(deps, providerId, event, credentialIds);
  else await startRuns(deps, providerId, event, credentialIds, request);
}

/** The credentials whose listener records the account (case-insensitively: addresses, team ids). */
async function watchingCredentials(db: Database, providerId: string, account: string): Promise<number[]> {
  const rows = await db
    .select({ credentialId: triggerListeners.credentialId })
    .from(triggerListeners)
    .where(
      and(
        eq(triggerListeners.provider, providerId),
        sql`lower(${triggerListeners.account}) = ${account.toLowerCase()}`,
      ),
    );
  return rows.map((row) => row.credentialId);
}

/** Signal-with-start of the event's listener workflow of each credential. */
async function signalListeners(
  { temporal, registry }: PushRouteDeps,
  providerId: string,
  event: PushSignalEvent,
  credentialIds: number[],
) {
  const listener = registry.trigger(providerId, event.triggerId)?.listener;
  if (!listener) throw new Error(`${providerId}.${event.triggerId} has no listener workflow`);
  await Promise.all(
    credentialIds.map((credentialId) =>
      temporal.workflow.signalWithStart(listener.workflowType, {
        workflowId: listener.workflowId(credentialId),
        taskQueue: TASK_QUEUES.automation,
        args: [listener.input(credentialId)],
        signal: event.signal,
        signalArgs: [event.payload],
      }),
    ),
  );
}

/** A run of every active workflow of the event's trigger on these credentials that wants the event. */
async function startRuns(
  { db, registry, runs }: PushRouteDeps,
  providerId: string,
  event: PushRunsEvent,
  credentialIds: number[],
  { id: requestId, log }: PushRequest,
) {
  if (!EVENT_ID_PATTERN.test(event.eventId)) {
    log.warn(`${providerId} push event with an unusable id dropped`);
    return;
  }
  const trigger = registry.trigger(providerId, event.triggerId);
  if (!trigger) throw new Error(`${providerId}.${event.triggerId} is not installed`);
  const subscribed = await db
    .select()
    .from(workflows)
    .where(
      and(
        eq(workflows.isActive, true),
        eq(workflows.triggerProvider, providerId),
        eq(workflows.triggerId, event.triggerId),
        inArray(workflows.triggerCredentialsId, credentialIds),
      ),
    );
  await Promise.all(
    subscribed.map(async (workflow) => {
      // Stored config passed validation when saved; parsing applies the schema's defaults.
      const triggerData = event.output(trigger.config.parse(workflow.triggerConfig));
      if (triggerData === undefined) return;
      const run = await runs.start({
        workflow,
        source: 'event',
        eventId: event.eventId,
        triggerData,
        requestId,
      });
      if (run.unavailable) log.warn({ workflowId: workflow.id }, run.unavailable);
      log.info(
        { workflowId: workflow.id, temporalWorkflowId: run.temporalWorkflowId, started: run.started },
        'run accepted',
      );
    }),
  );
}

function stringValues(query: unknown): Record<string, string> {
  if (query === null || typeof query !== 'object') return {};
  return Object.fromEntries(
    Object.entries(query).flatMap(([name, value]) => (typeof value === 'string' ? [[name, value]] : [])),
  );
}
