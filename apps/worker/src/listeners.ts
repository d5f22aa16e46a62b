import { type Database, type TriggerListener, triggerListeners, workflows } from '@autoflow/db';
import type { CredentialService } from '@autoflow/oauth';
import {
  type ActivityFunction,
  type ListenerRecord,
  type ListenerServices,
  type ProviderRegistry,
  toJson,
} from '@autoflow/provider-registry';
import type { RunStarter } from '@autoflow/runs';
import { and, eq } from 'drizzle-orm';
import type { Dispatcher } from 'undici';

export interface ListenerDeps {
  db: Database;
  registry: ProviderRegistry;
  credentials: CredentialService;
  runs: RunStarter;
  httpDispatcher: Dispatcher;
  /** Each provider's settings, parsed once at start; a listener gets only its own provider's. */
  providerSettings: ReadonlyMap<string, unknown>;
}

function toRecord(row: TriggerListener): ListenerRecord {
  return {
    account: row.account,
    cursor: row.cursor,
    watchedAt: row.watchedAt,
    watchExpiresAt: row.watchExpiresAt,
  };
}

/** What one provider's listener activities may use: its subscribers, its records, tokens and runs. */
function listenerServices(providerId: string, deps: ListenerDeps): ListenerServices {
  const { db } = deps;
  return {
    httpDispatcher: deps.httpDispatcher,
    settings: deps.providerSettings.get(providerId) ?? {},
    // The listener reads its own account: no owner to check against, so no owner lookup first.
    accessTokenFor: (credentialId, url) => deps.credentials.accessTokenFor(credentialId, url),
    async subscribers(credentialId) {
      const rows = await db
        .select()
        .from(workflows)
        .where(
          and(
            eq(workflows.triggerCredentialsId, credentialId),
            eq(workflows.triggerProvider, providerId),
            eq(workflows.isActive, true),
          ),
        );
      return rows.map((workflow) => ({
        workflowId: workflow.id,
        triggerConfig: workflow.triggerConfig,
        actionConfig: toJson(workflow.actionConfig),
        startRun: async (eventId, triggerData) => {
          const run = await deps.runs.start({ workflow, source: 'event', eventId, triggerData });
          return { started: run.started };
        },
      }));
    },
    records: {
      async get(credentialId) {
        const [row] = await db
          .select()
          .from(triggerListeners)
          .where(eq(triggerListeners.credentialId, credentialId));
        return row && toRecord(row);
      },
      async save(credentialId, record) {
        const values = { ...record, provider: providerId, updatedAt: new Date() };
        await db
          .insert(triggerListeners)
          .values({ credentialId, ...values })
          .onConflictDoUpdate({ target: triggerListeners.credentialId, set: values });
      },
      async saveCursor(credentialId, cursor) {
        await db
          .update(triggerListeners)
          .set({ cursor, updatedAt: new Date() })
          .where(eq(triggerListeners.credentialId, credentialId));
      },
      async remove(credentialId) {
        await db.delete(triggerListeners).where(eq(triggerListeners.credentialId, credentialId));
      },
    },
  };
}

/** The listener activities of every installed provider (Gmail's mailbox activities, …). */
export function createListenerActivities(deps: ListenerDeps): Record<string, ActivityFunction> {
  const activities: Record<string, ActivityFunction> = {};
  for (const provider of deps.registry.providers) {
    if (!provider.listenerActivities) continue;
    Object.assign(activities, provider.listenerActivities(listenerServices(provider.id, deps)));
  }
  return activities;
}
