import { EVENT_ID_PATTERN } from '@autoflow/workflow-contracts';
import { z } from 'zod';

// Request and response shapes; the OpenAPI document (`/openapi.json`, merged by `pnpm openapi`) is
// generated from these. Examples are what a frontend author reads in the reference at /docs.

/** Ids are Postgres `serial` (int4): a larger one is refused before it reaches SQL. */
export const MAX_ROW_ID = 2_147_483_647;

export const idParam = z.object({
  id: z.coerce
    .number()
    .int()
    .positive()
    .max(MAX_ROW_ID)
    .meta({ examples: [42] }),
});

export const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z
    .string()
    .max(200)
    .optional()
    .describe('The `nextCursor` of the previous page; a cursor that does not decode answers 400.'),
});

export const userSchema = z
  .object({ id: z.number(), email: z.string(), name: z.string().nullable() })
  .meta({ examples: [{ id: 7, email: 'ada@example.com', name: 'Ada' }] });

export const triggerSpec = z.object({
  serviceProvider: z.string().min(1).max(50),
  triggerId: z.string().min(1).max(100),
  config: z.record(z.string(), z.unknown()).default({}),
  credentialsId: z.number().int().positive().nullish(),
});

export const actionSpec = z.object({
  serviceProvider: z.string().min(1).max(50),
  actionId: z.string().min(1).max(100),
  config: z.record(z.string(), z.unknown()).default({}),
  credentialsId: z.number().int().positive().nullish(),
});

const workflowSpecExample = {
  name: 'Forward webhooks to Slack',
  description: 'Posts every webhook event to #alerts',
  trigger: { serviceProvider: 'webhook', triggerId: 'receive', config: {} },
  action: {
    serviceProvider: 'slack',
    actionId: 'post-message',
    config: { channel: '#alerts', text: 'New order {{trigger.body.order.id}} from {{trigger.body.name}}' },
    credentialsId: 3,
  },
};

const createWorkflowFields = z.object({
  name: z.string().min(1).max(255),
  description: z.string().max(10_000).nullish(),
  trigger: triggerSpec,
  action: actionSpec,
});

export const createWorkflowBody = createWorkflowFields.meta({ examples: [workflowSpecExample] });

export const updateWorkflowBody = createWorkflowFields
  .partial()
  .meta({ examples: [{ name: 'Forward webhooks to #ops' }] });

export const workflowSchema = z
  .object({
    id: z.number(),
    name: z.string(),
    description: z.string().nullable(),
    isActive: z.boolean(),
    trigger: z.object({
      serviceProvider: z.string(),
      triggerId: z.string(),
      config: z.unknown(),
      credentialsId: z.number().nullable(),
    }),
    action: z.object({
      serviceProvider: z.string(),
      actionId: z.string(),
      config: z.unknown(),
      credentialsId: z.number().nullable(),
    }),
    webhook: z.object({ url: z.string(), secret: z.string().optional() }).optional(),
    lastRun: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({
    examples: [
      {
        id: 42,
        ...workflowSpecExample,
        isActive: true,
        trigger: { ...workflowSpecExample.trigger, credentialsId: null },
        webhook: { url: 'https://autoflow.example.com/hooks/q3J9x0aZ_2bLk8sWc4mN5pQr7tUv1yXz' },
        lastRun: '2025-05-01T12:00:03.000Z',
        createdAt: '2025-04-30T09:15:00.000Z',
        updatedAt: '2025-04-30T09:15:00.000Z',
      },
    ],
  });

export const executionSchema = z
  .object({
    id: z.number(),
    workflowId: z.number(),
    status: z.enum(['running', 'completed', 'failed', 'cancelled']),
    triggerData: z.unknown(),
    actionResult: z.unknown(),
    errorMessage: z.string().nullable(),
    startedAt: z.string(),
    completedAt: z.string().nullable(),
    temporalWorkflowId: z.string(),
    temporalRunId: z.string().nullable(),
    /** The execution this one re-runs. */
    rerunOf: z.number().nullable(),
    /** Attempts of the action that ended so far (failed ones as they fail, the successful one at the end). */
    attempts: z.number(),
    lastFailure: z.object({ message: z.string(), at: z.string() }).nullable(),
    /** Set once a cancel was asked for; `status` turns `cancelled` when the run has stopped. */
    cancellation: z.object({ requestedAt: z.string(), reason: z.string() }).nullable(),
    timings: z.object({
      acceptedAt: z.string(),
      startedAt: z.string().nullable(),
      finishedAt: z.string().nullable(),
      queuedMs: z.number().nullable(),
      runMs: z.number().nullable(),
      totalMs: z.number().nullable(),
    }),
    /** The run's history in the Temporal UI; null when TEMPORAL_UI_BASE_URL is unset or before the run started. */
    temporalUiUrl: z.string().nullable(),
  })
  .meta({
    examples: [
      {
        id: 1001,
        workflowId: 42,
        status: 'completed',
        triggerData: { body: { name: 'Ada', order: { id: 42 } }, headers: {}, query: {} },
        actionResult: { channel: 'C0123ABCD', ts: '1714564803.000100' },
        errorMessage: null,
        startedAt: '2025-05-01T12:00:03.000Z',
        completedAt: '2025-05-01T12:00:04.000Z',
        temporalWorkflowId: 'run-42-3f9c2a',
        temporalRunId: '0196a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
        rerunOf: null,
        attempts: 1,
        lastFailure: null,
        cancellation: null,
        timings: {
          acceptedAt: '2025-05-01T12:00:03.000Z',
          startedAt: '2025-05-01T12:00:03.020Z',
          finishedAt: '2025-05-01T12:00:04.000Z',
          queuedMs: 20,
          runMs: 980,
          totalMs: 1000,
        },
        temporalUiUrl:
          'http://localhost:8233/namespaces/default/workflows/run-42-3f9c2a/0196a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b/history',
      },
    ],
  });

export const rerunMode = z
  .enum(['original', 'current'])
  .default('original')
  .describe(
    '`original`: the trigger data and action config the execution ran with (from its Temporal history); ' +
      "`current`: the same trigger data through the workflow's current configuration",
  );

export const idempotencyKeyHeader = z.string().regex(EVENT_ID_PATTERN);

export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({
    items: z.array(item),
    nextCursor: z.string().nullable().describe('Pass as `cursor` for the next page; null on the last page.'),
  });
}

const catalogEntry = {
  id: z.string(),
  name: z.string(),
  description: z.string(),
  configSchema: z.record(z.string(), z.unknown()).describe('JSON Schema of the config a workflow sets.'),
  outputSchema: z.record(z.string(), z.unknown()).describe('JSON Schema of what it outputs.'),
};

/** The installed providers, their triggers and actions with JSON Schemas for the config forms. */
export const catalogSchema = z
  .object({
    providers: z.array(
      z.object({
        id: z.string(),
        name: z.string(),
        auth: z.object({
          type: z.enum(['oauth2', 'none']),
          scopes: z.array(z.string()).readonly().optional(),
        }),
        triggers: z.array(
          z.object({
            ...catalogEntry,
            kind: z.enum(['event', 'webhook', 'schedule', 'manual']),
            sampleOutput: z
              .unknown()
              .describe('An example of what the trigger outputs: the values its template fields take.'),
          }),
        ),
        actions: z.array(z.object(catalogEntry)),
      }),
    ),
  })
  .meta({
    examples: [
      {
        providers: [
          {
            id: 'webhook',
            name: 'Webhook',
            auth: { type: 'none' },
            triggers: [
              {
                id: 'receive',
                name: 'Receive a webhook',
                description: 'Runs when a request arrives at the workflow’s own URL.',
                kind: 'webhook',
                configSchema: { type: 'object', properties: {} },
                outputSchema: { type: 'object', properties: { body: {} } },
                sampleOutput: { body: { name: 'Ada' } },
              },
            ],
            actions: [],
          },
        ],
      },
    ],
  });
