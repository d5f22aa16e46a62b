import { randomBytes } from 'node:crypto';
import type { FieldEncryption } from '@autoflow/crypto';
import { credentials, type Database, type Workflow, workflowExecutions, workflows } from '@autoflow/db';
import { authenticate, ProblemError, problemResponse, problemResponses, problems } from '@autoflow/http-kit';
import { type ProviderRegistry, toJson } from '@autoflow/provider-registry';
import { UnknownActionError } from '@autoflow/runs';
import { EVENT_ID_PATTERN, type JsonValue, MAX_SAVED_CONFIG_BYTES } from '@autoflow/workflow-contracts';
import { and, desc, eq, getTableColumns, inArray, lt, sql } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { decodeCursor, encodeCursor, rowId } from '../cursor.js';
import type { ApiGatewayDeps } from '../deps.js';
import {
  createWorkflowBody,
  idParam,
  pageOf,
  pageQuery,
  updateWorkflowBody,
  workflowSchema,
} from '../schemas.js';

const secured = [{ bearer: [] }];

const invalidWorkflow = problemResponse(
  400,
  'The request or the workflow is not valid (`validation_failed` with `issues`: unknown trigger or action, a config its schema refuses, a template naming a field the trigger does not output, a credential of another provider, a config over the size limit).',
);
const triggerNotUpdated = problemResponse(
  503,
  'The workflow was saved but its trigger (schedule, mailbox listener) could not be updated (`service_unavailable`), or the key provider is unavailable; repeating the call is safe.',
);
const actionUnavailable = problemResponse(
  422,
  'The workflow’s action is not installed (`action_unavailable`), or the saved workflow is no longer valid (`workflow_not_runnable`, with `issues`).',
);
const credentialNotFound = problemResponse(
  404,
  'The workflow, or a credential it names, is not the caller’s: `not_found`.',
);

/** Workflows are listed newest first by id. */
const workflowCursor = z.tuple([rowId]);

/** Configs over MAX_SAVED_CONFIG_BYTES (as JSON text) are refused at save, naming the side. */
function oversizedConfigs(spec: { trigger: { config?: unknown }; action: { config?: unknown } }) {
  return (['trigger', 'action'] as const).flatMap((side) => {
    const bytes = Buffer.byteLength(JSON.stringify(spec[side].config ?? {}));
    return bytes > MAX_SAVED_CONFIG_BYTES
      ? [{ path: [side, 'config'], message: `is ${bytes} bytes as JSON; at most ${MAX_SAVED_CONFIG_BYTES}` }]
      : [];
  });
}

type WorkflowView = z.infer<typeof workflowSchema>;

function webhookSecretLocation(webhookId: string) {
  return { table: 'workflows', column: 'webhook_secret', row: webhookId };
}

/** A Standard Webhooks secret: "whsec_" and 24 random bytes in base64. */
function newWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

/** A workflow row with its derived last run. */
type WorkflowWithLastRun = Workflow & { lastRun: Date | null };

/** Selects workflows with `lastRun`: the newest execution's start, one probe of the executions index. */
function selectWorkflows(db: Database) {
  // Spelled out: drizzle leaves the outer column unqualified here, which would bind to the subquery's own id.
  const lastRun =
    sql<Date | null>`(select max(e.started_at) from workflow_executions e where e.workflow_id = "workflows"."id")`.mapWith(
      workflowExecutions.startedAt,
    );
  return db.select({ ...getTableColumns(workflows), lastRun }).from(workflows);
}

export function toWorkflowView(
  row: WorkflowWithLastRun,
  publicWebhookBaseUrl: string,
  revealedSecret?: string,
): WorkflowView {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    isActive: row.isActive,
    trigger: {
      serviceProvider: row.triggerProvider,
      triggerId: row.triggerId,
      config: row.triggerConfig,
      credentialsId: row.triggerCredentialsId,
    },
    action: {
      serviceProvider: row.actionProvider,
      actionId: row.actionId,
      config: row.actionConfig,
      credentialsId: row.actionCredentialsId,
    },
    ...(row.webhookId
      ? {
          webhook: {
            url: `${publicWebhookBaseUrl.replace(/\/$/, '')}/hooks/${row.webhookId}`,
            ...(revealedSecret ? { secret: revealedSecret } : {}),
          },
        }
      : {}),
    lastRun: row.lastRun?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

async function findOwnWorkflow(db: Database, userId: number, id: number): Promise<WorkflowWithLastRun> {
  const [row] = await selectWorkflows(db).where(and(eq(workflows.id, id), eq(workflows.userId, userId)));
  if (!row) throw problems.notFound('workflow');
  return row;
}

interface CredentialUse {
  side: 'trigger' | 'action';
  serviceProvider: string;
  credentialsId?: number | null | undefined;
}

/**
 * Another user's credential answers 404, exactly like a missing one; a credential of another provider
 * (a Slack token for a Gmail trigger) is a validation error. Providers without an account of their own
 * (the HTTP action) may use any credential.
 */
async function assertOwnCredentials(
  db: Database,
  registry: ProviderRegistry,
  userId: number,
  uses: CredentialUse[],
): Promise<Map<number, string>> {
  const wanted = [
    ...new Set(uses.flatMap((use) => (typeof use.credentialsId === 'number' ? [use.credentialsId] : []))),
  ];
  if (wanted.length === 0) return new Map();
  const owned = await db
    .select({ id: credentials.id, serviceProvider: credentials.serviceProvider })
    .from(credentials)
    .where(and(eq(credentials.userId, userId), inArray(credentials.id, wanted)));
  if (owned.length !== wanted.length) throw problems.notFound('credential');
  const mismatched = uses.flatMap((use) => {
    const credential = owned.find((row) => row.id === use.credentialsId);
    const ownAccounts = registry.provider(use.serviceProvider)?.auth.type === 'oauth2';
    return credential && ownAccounts && credential.serviceProvider !== use.serviceProvider
      ? [
          {
            path: [use.side, 'credentialsId'],
            message: `credential ${credential.id} is a ${credential.serviceProvider} account; ${use.serviceProvider} needs its own`,
          },
        ]
      : [];
  });
  if (mismatched.length > 0) throw problems.validationFailed(mismatched, 'a credential of another provider');
  return new Map(owned.map((row) => [row.id, row.serviceProvider]));
}

function credentialUses(spec: {
  trigger: { serviceProvider: string; credentialsId?: number | null | undefined };
  action: { serviceProvider: string; credentialsId?: number | null | undefined };
}): CredentialUse[] {
  return [
    { side: 'trigger', ...spec.trigger },
    { side: 'action', ...spec.action },
  ];
}

interface WebhookFields {
  webhookId: string | null;
  webhookSecret: string | null;
  revealedSecret?: string;
}

/**
 * The webhook columns a workflow should have for its trigger: an unguessable hook id for webhook
 * triggers, and a signing secret (encrypted; shown once) when signatures are required.
 */
async function webhookFieldsFor(
  keyring: FieldEncryption,
  isWebhook: boolean,
  verifySignature: boolean,
  current: Pick<Workflow, 'webhookId' | 'webhookSecret'> | undefined,
): Promise<WebhookFields> {
  if (!isWebhook) return { webhookId: null, webhookSecret: null };
  const webhookId = current?.webhookId ?? randomBytes(24).toString('base64url');
  if (!verifySignature) return { webhookId, webhookSecret: null };
  if (current?.webhookSecret) return { webhookId, webhookSecret: current.webhookSecret };
  const secret = newWebhookSecret();
  return {
    webhookId,
    webhookSecret: await keyring.encrypt(secret, webhookSecretLocation(webhookId)),
    revealedSecret: secret,
  };
}

/** The columns a create or an edit writes, from a validated spec. */
function workflowColumns(
  spec: {
    name: string;
    description?: string | null | undefined;
    trigger: { serviceProvider: string; triggerId: string; credentialsId?: number | null | undefined };
    action: { serviceProvider: string; actionId: string; credentialsId?: number | null | undefined };
  },
  triggerConfig: JsonValue,
  actionConfig: JsonValue,
  webhook: WebhookFields,
) {
  return {
    name: spec.name,
    description: spec.description ?? null,
    triggerProvider: spec.trigger.serviceProvider,
    triggerId: spec.trigger.triggerId,
    triggerConfig,
    triggerCredentialsId: spec.trigger.credentialsId ?? null,
    actionProvider: spec.action.serviceProvider,
    actionId: spec.action.actionId,
    actionConfig,
    actionCredentialsId: spec.action.credentialsId ?? null,
    webhookId: webhook.webhookId,
    webhookSecret: webhook.webhookSecret,
  };
}

export const workflowRoutes: FastifyPluginAsyncZod<ApiGatewayDeps> = async (app, deps) => {
  const { db, tokens, registry, keyring, runs, schedules, listeners, publicWebhookBaseUrl } = deps;

  /**
   * Activation, edits and deactivation reach what runs the trigger outside this API: the workflow's
   * Temporal Schedule, and the listener workflow of the account it reads (Gmail's mailbox), before and
   * after an edit.
   */
  async function syncTrigger(row: Workflow, log: FastifyBaseLogger, previous?: Workflow): Promise<void> {
    try {
      await schedules.sync(row);
      await listeners.changed(row, previous);
    } catch (error) {
      // A schedule's run input names the action: one that is not installed cannot be scheduled.
      if (error instanceof UnknownActionError) throw problems.actionUnavailable(error.message);
      log.error({ err: error, workflowId: row.id }, 'could not update the trigger');
      // Repeating the call is safe: both make Temporal match the rows, whatever it was.
      throw problems.unavailable('the workflow was saved but its trigger could not be updated; try again');
    }
  }

  /**
   * A workflow saved before a rule existed (a cron Temporal refuses) or whose provider was since
   * uninstalled is refused at activation with the reasons, rather than failing on every event.
   */
  function assertRunnable(row: Workflow): void {
    const result = registry.validateSpec({
      trigger: {
        serviceProvider: row.triggerProvider,
        triggerId: row.triggerId,
        config: row.triggerConfig,
        credentialsId: row.triggerCredentialsId,
      },
      action: { serviceProvider: row.actionProvider, actionId: row.actionId, config: row.actionConfig },
    });
    if (!result.ok)
      throw new ProblemError(
        422,
        'workflow_not_runnable',
        'Workflow not runnable',
        'the saved workflow is no longer valid; edit it first',
        result.issues,
      );
  }

  function validate(spec: z.infer<typeof createWorkflowBody>, credentialProviders: Map<number, string>) {
    const oversized = oversizedConfigs(spec);
    if (oversized.length > 0) throw problems.validationFailed(oversized, 'a config is too large');
    const actionCredentialProvider = credentialProviders.get(spec.action.credentialsId ?? -1);
    const result = registry.validateSpec(spec, { actionCredentialProvider });
    if (!result.ok) throw problems.validationFailed(result.issues, 'the workflow is not valid');
    const trigger = registry.trigger(spec.trigger.serviceProvider, spec.trigger.triggerId);
    const handling = trigger?.webhook;
    // The trigger says whether its senders sign: always (GitHub) or when the config asks (generic webhooks).
    const signed =
      handling !== undefined &&
      (handling.secret === 'required' ||
        handling.wantsSecret(trigger?.config.parse(spec.trigger.config ?? {})));
    return { ...result, isWebhook: handling !== undefined, signed };
  }

  app.post(
    '/api/workflows',
    {
      schema: {
        tags: ['workflows'],
        operationId: 'createWorkflow',
        summary: 'Creates a workflow (inactive); a webhook trigger’s URL, and its signing secret once',
        security: secured,
        body: createWorkflowBody,
        response: {
          201: workflowSchema,
          400: invalidWorkflow,
          404: problemResponse(404, 'A credential it names is not the caller’s: `not_found`.'),
          503: problemResponse(
            503,
            'The key provider cannot seal the webhook secret (`key_provider_unavailable`).',
          ),
        },
      },
    },
    async (request, reply) => {
      const userId = await authenticate(tokens, request);
      const body = request.body;
      const owned = await assertOwnCredentials(db, registry, userId, credentialUses(body));
      const { triggerConfig, actionConfig, isWebhook, signed } = validate(body, owned);
      const webhook = await webhookFieldsFor(keyring, isWebhook, signed, undefined);
      const [row] = await db
        .insert(workflows)
        .values({ userId, ...workflowColumns(body, triggerConfig, actionConfig, webhook) })
        .returning();
      if (!row) throw new Error('insert returned no row');
      return reply
        .code(201)
        .send(toWorkflowView({ ...row, lastRun: null }, publicWebhookBaseUrl, webhook.revealedSecret));
    },
  );

  app.get(
    '/api/workflows',
    {
      schema: {
        tags: ['workflows'],
        operationId: 'listWorkflows',
        summary: 'The caller’s workflows, newest first, a page at a time',
        security: secured,
        querystring: pageQuery,
        response: { 200: pageOf(workflowSchema) },
      },
    },
    async (request) => {
      const userId = await authenticate(tokens, request);
      const { limit, cursor } = request.query;
      const after = decodeCursor(cursor, workflowCursor);
      const rows = await selectWorkflows(db)
        .where(and(eq(workflows.userId, userId), after ? lt(workflows.id, after[0]) : undefined))
        .orderBy(desc(workflows.id))
        .limit(limit + 1);
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        items: page.map((row) => toWorkflowView(row, publicWebhookBaseUrl)),
        nextCursor: rows.length > limit && last ? encodeCursor([last.id]) : null,
      };
    },
  );

  app.get(
    '/api/workflows/:id',
    {
      schema: {
        tags: ['workflows'],
        operationId: 'getWorkflow',
        summary: 'One workflow',
        security: secured,
        params: idParam,
        response: { 200: workflowSchema, ...problemResponses(404) },
      },
    },
    async (request) => {
      const userId = await authenticate(tokens, request);
      return toWorkflowView(await findOwnWorkflow(db, userId, request.params.id), publicWebhookBaseUrl);
    },
  );

  app.patch(
    '/api/workflows/:id',
    {
      schema: {
        tags: ['workflows'],
        operationId: 'updateWorkflow',
        summary: 'Edits a workflow; an active one’s trigger follows the edit',
        security: secured,
        params: idParam,
        body: updateWorkflowBody,
        response: {
          200: workflowSchema,
          400: invalidWorkflow,
          404: credentialNotFound,
          422: actionUnavailable,
          503: triggerNotUpdated,
        },
      },
    },
    async (request) => {
      const userId = await authenticate(tokens, request);
      const current = await findOwnWorkflow(db, userId, request.params.id);
      const body = request.body;
      const merged = {
        name: body.name ?? current.name,
        description: body.description === undefined ? current.description : body.description,
        trigger: body.trigger ?? {
          serviceProvider: current.triggerProvider,
          triggerId: current.triggerId,
          config: current.triggerConfig,
          credentialsId: current.triggerCredentialsId,
        },
        action: body.action ?? {
          serviceProvider: current.actionProvider,
          actionId: current.actionId,
          config: current.actionConfig,
          credentialsId: current.actionCredentialsId,
        },
      };
      const owned = await assertOwnCredentials(db, registry, userId, credentialUses(merged));
      const { triggerConfig, actionConfig, isWebhook, signed } = validate(
        {
          ...merged,
          trigger: { ...merged.trigger, config: toRecord(merged.trigger.config) },
          action: { ...merged.action, config: toRecord(merged.action.config) },
        },
        owned,
      );
      const webhook = await webhookFieldsFor(keyring, isWebhook, signed, current);
      const [row] = await db
        .update(workflows)
        .set({ ...workflowColumns(merged, triggerConfig, actionConfig, webhook), updatedAt: new Date() })
        .where(and(eq(workflows.id, current.id), eq(workflows.userId, userId)))
        .returning();
      if (!row) throw problems.notFound('workflow');
      await syncTrigger(row, request.log, current);
      return toWorkflowView(
        { ...row, lastRun: current.lastRun },
        publicWebhookBaseUrl,
        webhook.revealedSecret,
      );
    },
  );

  app.delete(
    '/api/workflows/:id',
    {
      schema: {
        tags: ['workflows'],
        operationId: 'deleteWorkflow',
        summary: 'Deletes a workflow and its schedule',
        security: secured,
        params: idParam,
        response: {
          204: z.null().describe('Deleted.'),
          ...problemResponses(404),
          503: problemResponse(503, 'The schedule could not be deleted; nothing was deleted. Try again.'),
        },
      },
    },
    async (request, reply) => {
      const userId = await authenticate(tokens, request);
      const workflow = await findOwnWorkflow(db, userId, request.params.id);
      // The schedule goes first: a schedule left behind would keep firing for a deleted workflow.
      if (schedules.isScheduled(workflow)) {
        try {
          await schedules.remove(workflow.id);
        } catch (error) {
          request.log.error({ err: error }, 'could not delete the schedule');
          throw problems.unavailable('the schedule could not be deleted; try again');
        }
      }
      const deleted = await db
        .delete(workflows)
        .where(and(eq(workflows.id, request.params.id), eq(workflows.userId, userId)))
        .returning({ id: workflows.id });
      if (deleted.length === 0) throw problems.notFound('workflow');
      try {
        await listeners.changed(workflow);
      } catch (error) {
        // Not fatal: a listener also re-reads its workflows at every watch renewal, and stops then.
        request.log.warn({ err: error, workflowId: workflow.id }, 'could not tell the listener');
      }
      return reply.code(204).send(null);
    },
  );

  for (const [verb, isActive] of [
    ['activate', true],
    ['deactivate', false],
  ] as const) {
    app.post(
      `/api/workflows/:id/${verb}`,
      {
        schema: {
          tags: ['workflows'],
          operationId: `${verb}Workflow`,
          summary: isActive
            ? 'Activates a workflow: its trigger starts runs (schedule, listener or hook)'
            : 'Deactivates a workflow: its trigger stops starting runs',
          security: secured,
          params: idParam,
          response: {
            200: workflowSchema,
            ...problemResponses(404),
            422: actionUnavailable,
            503: triggerNotUpdated,
          },
        },
      },
      async (request) => {
        const userId = await authenticate(tokens, request);
        if (isActive) assertRunnable(await findOwnWorkflow(db, userId, request.params.id));
        const [row] = await db
          .update(workflows)
          .set({ isActive, updatedAt: new Date() })
          .where(and(eq(workflows.id, request.params.id), eq(workflows.userId, userId)))
          .returning();
        if (!row) throw problems.notFound('workflow');
        await syncTrigger(row, request.log);
        return toWorkflowView(await findOwnWorkflow(db, userId, row.id), publicWebhookBaseUrl);
      },
    );
  }

  app.post(
    '/api/workflows/:id/run',
    {
      schema: {
        tags: ['workflows'],
        operationId: 'runWorkflow',
        summary: 'Runs a workflow now, with a payload for its trigger; idempotent with Idempotency-Key',
        security: secured,
        params: idParam,
        headers: z.object({
          'idempotency-key': z
            .string()
            .regex(EVENT_ID_PATTERN)
            .optional()
            .describe('The same key runs the workflow once; a repeat answers the same execution.'),
        }),
        body: z
          .object({ payload: z.unknown().optional() })
          .nullish()
          .meta({ examples: [{ payload: { name: 'Ada', order: { id: 42 } } }] }),
        response: {
          202: z
            .object({ executionId: z.number(), temporalWorkflowId: z.string() })
            .meta({ examples: [{ executionId: 1001, temporalWorkflowId: 'run-42-3f9c2a' }] }),
          400: problemResponse(
            400,
            'Not valid (`validation_failed`): a bad Idempotency-Key, or a payload that does not look like the trigger’s output.',
          ),
          ...problemResponses(404),
          422: problemResponse(422, 'The workflow’s action is not installed: `action_unavailable`.'),
          503: problemResponse(503, 'Temporal did not accept the run (`service_unavailable`); try again.'),
        },
      },
    },
    async (request, reply) => {
      const userId = await authenticate(tokens, request);
      const workflow = await findOwnWorkflow(db, userId, request.params.id);
      const payload = toJson(request.body?.payload ?? null);
      const triggerData = manualTriggerData(workflow, payload);
      try {
        const run = await runs.startRecorded({
          workflow,
          source: 'manual',
          eventId: request.headers['idempotency-key'],
          triggerData,
          requestId: request.id,
        });
        // Recorded as a failed execution with the reason; running it again cannot help.
        if (run.unavailable) throw problems.actionUnavailable(run.unavailable);
        // Ties this request's id (the line's reqId) to the run's Temporal workflow id.
        request.log.info(
          { workflowId: workflow.id, temporalWorkflowId: run.temporalWorkflowId, started: run.started },
          'run accepted',
        );
        return reply
          .code(202)
          .send({ executionId: run.executionId, temporalWorkflowId: run.temporalWorkflowId });
      } catch (error) {
        if (error instanceof ProblemError) throw error;
        request.log.error({ err: error }, 'could not start the run');
        throw problems.unavailable('the run could not be started; try again');
      }
    },
  );

  /**
   * A manual trigger outputs `{payload}`. Other triggers can be run by hand too, to try a workflow:
   * the payload then stands for the trigger's output and must match its schema (the sample when absent).
   */
  function manualTriggerData(workflow: Workflow, payload: JsonValue): JsonValue {
    const trigger = registry.trigger(workflow.triggerProvider, workflow.triggerId);
    if (!trigger || trigger.kind === 'manual') return { payload };
    if (payload === null) return toJson(trigger.sampleOutput);
    const parsed = trigger.output.safeParse(payload);
    if (!parsed.success) {
      throw problems.validationFailed(
        parsed.error.issues.map((issue) => ({
          path: ['payload', ...issue.path.filter((part) => typeof part !== 'symbol')],
          message: issue.message,
        })),
        `the payload must look like the output of ${workflow.triggerProvider}.${workflow.triggerId}`,
      );
    }
    return payload;
  }
};

function toRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? Object.fromEntries(Object.entries(value))
    : {};
}
