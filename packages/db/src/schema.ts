import { sql } from 'drizzle-orm';
import {
  type AnyPgColumn,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  serial,
  text,
  timestamp,
  unique,
  uniqueIndex,
  varchar,
} from 'drizzle-orm/pg-core';

// The seed's tables (users, credentials, workflows, workflow_executions) with real Postgres indexes.
// Timestamps are `timestamptz`: the API speaks ISO 8601 UTC and servers may run in any time zone.

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();
const updatedAt = () => timestamp('updated_at', { withTimezone: true }).notNull().defaultNow();

export const users = pgTable(
  'users',
  {
    id: serial('id').primaryKey(),
    email: varchar('email', { length: 320 }).notNull(),
    name: varchar('name', { length: 255 }),
    passwordHash: text('password_hash').notNull(),
    createdAt: createdAt(),
  },
  (table) => [uniqueIndex('users_email_lower_idx').on(sql`lower(${table.email})`)],
);

export const credentials = pgTable(
  'credentials',
  {
    id: serial('id').primaryKey(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    serviceProvider: varchar('service_provider', { length: 50 }).notNull(),
    credentialType: varchar('credential_type', { length: 50 }).notNull(),
    name: varchar('name', { length: 255 }).notNull(),
    // Encrypted with @autoflow/crypto: "v1:{keyId}:..."
    accessToken: text('access_token'),
    refreshToken: text('refresh_token'),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    scope: text('scope'),
    clientId: text('client_id'),
    clientSecret: text('client_secret'),
    isValid: boolean('is_valid').notNull().default(true),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (table) => [
    unique('credentials_user_provider_name_key').on(table.userId, table.serviceProvider, table.name),
  ],
);

/**
 * One pending OAuth authorization: single-use (consumed by delete … returning), expires within minutes,
 * bound to a user, a provider and (for a user-provided app) a credential. Only a hash of `state` is kept.
 */
/**
 * A connect flow, from /auth to /complete. The callback does not finish it: it parks the provider's
 * code (sealed) and hands the browser a one-time handle (kept as its hash) that only the user who
 * started the flow can redeem, so a flow cannot be completed in another user's browser (RFC 9700 §4.7).
 */
export const oauthStates = pgTable(
  'oauth_states',
  {
    stateHash: varchar('state_hash', { length: 64 }).primaryKey(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    provider: varchar('provider', { length: 50 }).notNull(),
    credentialId: integer('credential_id').references(() => credentials.id, { onDelete: 'cascade' }),
    /** The name of the credential a platform-app connection creates. */
    credentialName: varchar('credential_name', { length: 255 }),
    // Encrypted; bound to this row's state hash.
    codeVerifier: text('code_verifier').notNull(),
    redirectUrl: text('redirect_url'),
    /** The provider's authorization code, parked by the callback; encrypted, bound to the state hash. */
    code: text('code'),
    /** SHA-256 of the one-time handle the callback gave the browser; set once the code is parked. */
    handleHash: varchar('handle_hash', { length: 64 }).unique(),
    /** Until the callback: the state's lifetime; once parked: the handle's. */
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    createdAt: createdAt(),
  },
  (table) => [index('oauth_states_expires_at_idx').on(table.expiresAt)],
);

export const workflows = pgTable(
  'workflows',
  {
    id: serial('id').primaryKey(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: varchar('name', { length: 255 }).notNull(),
    description: text('description'),
    triggerProvider: varchar('trigger_provider', { length: 50 }).notNull(),
    triggerId: varchar('trigger_id', { length: 100 }).notNull(),
    triggerConfig: jsonb('trigger_config').notNull().default({}),
    triggerCredentialsId: integer('trigger_credentials_id').references(() => credentials.id, {
      onDelete: 'set null',
    }),
    actionProvider: varchar('action_provider', { length: 50 }).notNull(),
    actionId: varchar('action_id', { length: 100 }).notNull(),
    actionConfig: jsonb('action_config').notNull().default({}),
    actionCredentialsId: integer('action_credentials_id').references(() => credentials.id, {
      onDelete: 'set null',
    }),
    // Webhook triggers: an unguessable id for /hooks/:hookId, and an optional signing secret (encrypted).
    webhookId: varchar('webhook_id', { length: 64 }),
    webhookSecret: text('webhook_secret'),
    isActive: boolean('is_active').notNull().default(false),
    // No last_run column: a workflow's last run is max(started_at) of its executions (one index probe).
    // Writing it on every run made concurrent runs of one workflow queue behind a single row lock.
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (table) => [
    index('workflows_user_id_idx').on(table.userId, table.id),
    uniqueIndex('workflows_webhook_id_idx').on(table.webhookId),
    // Trigger routing: which active workflows listen to a trigger (design notes §2).
    index('workflows_active_trigger_idx')
      .on(table.triggerProvider, table.triggerId)
      .where(sql`${table.isActive}`),
    // A listener's subscribers: the active workflows whose trigger reads one credential's account.
    index('workflows_trigger_credentials_idx').on(table.triggerCredentialsId).where(sql`${table.isActive}`),
  ],
);

export const workflowExecutions = pgTable(
  'workflow_executions',
  {
    id: serial('id').primaryKey(),
    workflowId: integer('workflow_id')
      .notNull()
      .references(() => workflows.id, { onDelete: 'cascade' }),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    temporalWorkflowId: varchar('temporal_workflow_id', { length: 255 }).notNull(),
    // Null only between a manual run's acceptance and its first workflow task.
    temporalRunId: varchar('temporal_run_id', { length: 255 }),
    status: varchar('status', {
      length: 50,
      enum: ['running', 'completed', 'failed', 'cancelled'],
    }).notNull(),
    triggerData: jsonb('trigger_data'),
    actionResult: jsonb('action_result'),
    errorMessage: text('error_message'),
    // The row's creation: the API's acceptance for a manual run or re-run, the worker's start otherwise.
    // Lists sort by it; see acceptedAt and runStartedAt for the run's own timings.
    startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
    completedAt: timestamp('completed_at', { withTimezone: true }),
    /** The execution this one re-runs (POST /api/executions/:id/rerun, or a bulk re-run). */
    rerunOf: integer('rerun_of').references((): AnyPgColumn => workflowExecutions.id, {
      onDelete: 'set null',
    }),
    /** When Temporal (or the API, for a manual run) accepted the run. */
    acceptedAt: timestamp('accepted_at', { withTimezone: true }),
    /** When a worker first recorded the run's start. */
    runStartedAt: timestamp('run_started_at', { withTimezone: true }),
    /** Attempts of the action that ended (failed or succeeded), recorded by the worker as each ends. */
    attempts: integer('attempts').notNull().default(0),
    /** The newest failed attempt's message and time (a later attempt may still have succeeded). */
    lastFailure: text('last_failure'),
    lastFailureAt: timestamp('last_failure_at', { withTimezone: true }),
    /** Set by POST /api/executions/:id/cancel; the worker records the reason when the run stops. */
    cancelRequestedAt: timestamp('cancel_requested_at', { withTimezone: true }),
    cancelReason: text('cancel_reason'),
    /**
     * Every write's time, set by a trigger (migration 0006) that also NOTIFYs `workflow_executions`:
     * the live stream's event id, from which a reconnecting stream resumes.
     */
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    // Unique: one row per Temporal run id, which is what makes recording idempotent.
    uniqueIndex('workflow_executions_temporal_workflow_id_idx').on(table.temporalWorkflowId),
    index('workflow_executions_workflow_started_idx').on(
      table.workflowId,
      table.startedAt.desc(),
      table.id.desc(),
    ),
    // The stream's resume (changes of a workflow's executions since an event id).
    index('workflow_executions_workflow_updated_idx').on(table.workflowId, table.updatedAt, table.id),
    // Re-runs of an execution; also what keeps deleting an execution from scanning for its re-runs.
    index('workflow_executions_rerun_of_idx').on(table.rerunOf).where(sql`${table.rerunOf} is not null`),
  ],
);

/**
 * A bulk re-run (POST /api/workflows/:id/executions/rerun-failed), keyed by its caller's Idempotency-Key:
 * the same key answers the same batch. The executions it re-runs are chosen once, when the key is first
 * seen, in the statement that inserts this row.
 */
export const rerunBatches = pgTable(
  'rerun_batches',
  {
    id: serial('id').primaryKey(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    workflowId: integer('workflow_id')
      .notNull()
      .references(() => workflows.id, { onDelete: 'cascade' }),
    idempotencyKey: varchar('idempotency_key', { length: 128 }).notNull(),
    mode: varchar('mode', { length: 16, enum: ['original', 'current'] }).notNull(),
    /** The failed executions chosen, oldest first. */
    executionIds: integer('execution_ids').array().notNull(),
    createdAt: createdAt(),
  },
  (table) => [unique('rerun_batches_user_key').on(table.userId, table.idempotencyKey)],
);

/**
 * What a trigger's listener workflow keeps outside Temporal, one row per watched account (Gmail's
 * mailbox): the address pushes are routed by, a copy of its cursor for resuming, and the provider-side
 * watch. Only the listener's own activities write it.
 */
export const triggerListeners = pgTable(
  'trigger_listeners',
  {
    credentialId: integer('credential_id')
      .primaryKey()
      .references(() => credentials.id, { onDelete: 'cascade' }),
    provider: varchar('provider', { length: 50 }).notNull(),
    account: varchar('account', { length: 320 }).notNull(),
    // Gmail's historyId: decimal text, since it exceeds 2^53.
    cursor: varchar('cursor', { length: 40 }),
    watchedAt: timestamp('watched_at', { withTimezone: true }),
    watchExpiresAt: timestamp('watch_expires_at', { withTimezone: true }),
    updatedAt: updatedAt(),
  },
  // Push routing: which listeners watch the account a notification names.
  (table) => [index('trigger_listeners_account_idx').on(table.provider, sql`lower(${table.account})`)],
);

/**
 * Abuse limits shared by every replica: one counter per limited key (e.g. logins of one address) and
 * fixed window. Keys are hashed, so that the table holds no addresses or emails. Expired rows are reset
 * by the next hit and pruned in the background. The table is UNLOGGED (in its migration: drizzle cannot
 * say so): losing counts in a crash is cheaper than a WAL flush per request.
 */
export const rateLimitCounters = pgTable(
  'rate_limit_counters',
  {
    key: varchar('key', { length: 64 }).primaryKey(),
    hits: integer('hits').notNull(),
    resetsAt: timestamp('resets_at', { withTimezone: true }).notNull(),
  },
  (table) => [index('rate_limit_counters_resets_at_idx').on(table.resetsAt)],
);

export type User = typeof users.$inferSelect;
export type Credential = typeof credentials.$inferSelect;
export type OAuthState = typeof oauthStates.$inferSelect;
export type Workflow = typeof workflows.$inferSelect;
export type NewWorkflow = typeof workflows.$inferInsert;
export type WorkflowExecution = typeof workflowExecutions.$inferSelect;
export type TriggerListener = typeof triggerListeners.$inferSelect;
export type RerunBatch = typeof rerunBatches.$inferSelect;
