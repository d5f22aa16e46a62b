import { EVENT_ID_PATTERN } from '@autoflow/workflow-contracts';
import { z } from 'zod';

// Request and response shapes; OpenAPI at /docs is generated from these.

/** Ids are Postgres `serial` (int4): a larger one is refused before it reaches SQL. */
export const MAX_ROW_ID = 2_147_483_647;

export const idParam = z.object({ id: z.coerce.number().int().positive().max(MAX_ROW_ID) });

export const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().max(200).optional(),
});

export const userSchema = z.object({ id: z.number(), email: z.string(), name: z.string().nullable() });

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

export const createWorkflowBody = z.object({
  name: z.string().min(1).max(255),
  description: z.string().max(10_000).nullish(),
  trigger: triggerSpec,
  action: actionSpec,
});

export const updateWorkflowBody = createWorkflowBody.partial();

export const workflowSchema = z.object({
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
});

export const executionSchema = z.object({
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
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() });
}

export const problemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number(),
  detail: z.string(),
  code: z.string(),
  issues: z
    .array(z.object({ path: z.array(z.union([z.string(), z.number()])), message: z.string() }))
    .optional(),
});
