import {
  type ActionExecutionOptions,
  actionActivityName,
  DEFAULT_LOCAL_ATTEMPT_TIMEOUT_MS,
  type JsonValue,
  TASK_QUEUES,
} from '@autoflow/workflow-contracts';
import type { z } from 'zod';
import { ownerListedHosts, providerApiHosts } from './credential-hosts.js';
import type { ActionDefinition, ProviderDefinition, TriggerDefinition, TriggerKind } from './definitions.js';
import { type JsonSchema, schemaHasPath, toJsonSchema } from './json-schema.js';
import type { PushVerifier } from './push.js';
import { listTemplateReferences } from './templates.js';
import { checkUrlTemplate, UrlTemplateError, urlTemplateIssues } from './url-templates.js';

/** Applied to every action unless its definition overrides a part. */
export const DEFAULT_ACTION_EXECUTION: ActionExecutionOptions = {
  mode: 'local',
  taskQueue: TASK_QUEUES.actions,
  localAttemptTimeoutMs: DEFAULT_LOCAL_ATTEMPT_TIMEOUT_MS,
  startToCloseTimeoutMs: 40_000,
  heartbeatTimeoutMs: 10_000,
  retry: { maximumAttempts: 5, initialIntervalMs: 1_000, backoffCoefficient: 2, maximumIntervalMs: 30_000 },
};

export interface CatalogEntry {
  id: string;
  name: string;
  description: string;
  configSchema: JsonSchema;
  outputSchema: JsonSchema;
}

export interface CatalogProvider {
  id: string;
  name: string;
  auth: { type: 'oauth2' | 'none'; scopes?: readonly string[] };
  /** A trigger's sample is what a frontend shows next to the fields it offers to templates. */
  triggers: (CatalogEntry & { kind: TriggerKind; sampleOutput: JsonValue })[];
  actions: CatalogEntry[];
}

export interface WorkflowSpec {
  trigger: { serviceProvider: string; triggerId: string; config: unknown; credentialsId?: number | null };
  action: { serviceProvider: string; actionId: string; config: unknown };
}

/** One problem with a workflow spec, addressed by its path in the request body. */
export interface SpecIssue {
  path: (string | number)[];
  message: string;
}

/** What the caller knows beyond the spec itself. */
export interface SpecContext {
  /** The provider of the credential the action names (looked up by the caller), if it names one. */
  actionCredentialProvider?: string | undefined;
}

export type SpecValidation =
  | { ok: true; triggerConfig: JsonValue; actionConfig: JsonValue }
  | { ok: false; issues: SpecIssue[] };

function zodIssues(error: z.ZodError, prefix: (string | number)[]): SpecIssue[] {
  return error.issues.map((issue) => ({
    path: [...prefix, ...issue.path.filter((part) => typeof part !== 'symbol')],
    message: issue.message,
  }));
}

export class ProviderRegistry {
  readonly #providers: ReadonlyMap<string, ProviderDefinition>;
  #catalog: CatalogProvider[] | undefined;

  constructor(providers: readonly ProviderDefinition[]) {
    const byId = new Map<string, ProviderDefinition>();
    for (const provider of providers) {
      if (byId.has(provider.id)) throw new Error(`provider "${provider.id}" is registered twice`);
      for (const action of provider.actions) {
        // An action types its settings with its provider's schema; any other would lie about what it gets.
        if (action.settings !== undefined && action.settings !== provider.settings)
          throw new Error(`action "${provider.id}.${action.id}" declares settings its provider does not`);
      }
      byId.set(provider.id, provider);
    }
    this.#providers = byId;
  }

  get providers(): ProviderDefinition[] {
    return [...this.#providers.values()];
  }

  provider(id: string): ProviderDefinition | undefined {
    return this.#providers.get(id);
  }

  trigger(providerId: string, triggerId: string): TriggerDefinition | undefined {
    return this.provider(providerId)?.triggers.find((trigger) => trigger.id === triggerId);
  }

  action(providerId: string, actionId: string): ActionDefinition | undefined {
    return this.provider(providerId)?.actions.find((action) => action.id === actionId);
  }

  /** Every action by its activity name (`provider.action`), for the worker to register. */
  actionsByActivityName(): Map<string, ActionDefinition> {
    const entries = this.providers.flatMap((provider) =>
      provider.actions.map((action) => [actionActivityName(provider.id, action.id), action] as const),
    );
    return new Map(entries);
  }

  /** Every action with its provider and activity name, for the worker to register. */
  actionEntries(): { activityName: string; provider: ProviderDefinition; action: ActionDefinition }[] {
    return this.providers.flatMap((provider) =>
      provider.actions.map((action) => ({
        activityName: actionActivityName(provider.id, action.id),
        provider,
        action,
      })),
    );
  }

  /**
   * The verifier of every declared push endpoint for this deployment's provider settings
   * (resolveProviderSettings), by provider id; undefined where the provider's push is not configured.
   */
  pushVerifiers(settings: ReadonlyMap<string, unknown>): ReadonlyMap<string, PushVerifier | undefined> {
    return new Map(
      this.providers.flatMap((provider) =>
        provider.push ? [[provider.id, provider.push.verifier(settings.get(provider.id))] as const] : [],
      ),
    );
  }

  executionOptions(action: ActionDefinition): ActionExecutionOptions {
    return {
      ...DEFAULT_ACTION_EXECUTION,
      ...action.execution,
      retry: { ...DEFAULT_ACTION_EXECUTION.retry, ...action.execution?.retry },
    };
  }

  /** The public catalog with JSON Schemas; computed once, it never changes while the process runs. */
  catalog(): CatalogProvider[] {
    this.#catalog ??= this.providers.map((provider) => ({
      id: provider.id,
      name: provider.name,
      auth:
        provider.auth.type === 'oauth2' ? { type: 'oauth2', scopes: provider.auth.scopes } : { type: 'none' },
      triggers: provider.triggers.map((trigger) => ({
        id: trigger.id,
        name: trigger.name,
        description: trigger.description,
        kind: trigger.kind,
        configSchema: toJsonSchema(trigger.config, 'input'),
        outputSchema: toJsonSchema(trigger.output, 'output'),
        sampleOutput: toJson(trigger.sampleOutput),
      })),
      actions: provider.actions.map((action) => ({
        id: action.id,
        name: action.name,
        description: action.description,
        configSchema: toJsonSchema(action.config, 'input'),
        outputSchema: toJsonSchema(action.output, 'output'),
      })),
    }));
    return this.#catalog;
  }

  /**
   * The seed's validation of a workflow: trigger and action exist, each config passes its schema,
   * every template in the action config names a field the trigger really outputs, templated URLs keep
   * a literal origin, and a credential's token would go only to its provider's hosts or listed ones.
   */
  validateSpec(spec: WorkflowSpec, context: SpecContext = {}): SpecValidation {
    const issues: SpecIssue[] = [];
    const trigger = this.trigger(spec.trigger.serviceProvider, spec.trigger.triggerId);
    const action = this.action(spec.action.serviceProvider, spec.action.actionId);
    if (!trigger) {
      issues.push({
        path: ['trigger', 'triggerId'],
        message: `unknown trigger "${spec.trigger.serviceProvider}.${spec.trigger.triggerId}"`,
      });
    }
    if (!action) {
      issues.push({
        path: ['action', 'actionId'],
        message: `unknown action "${spec.action.serviceProvider}.${spec.action.actionId}"`,
      });
    }
    if (!trigger || !action) return { ok: false, issues };

    if (trigger.listener && typeof spec.trigger.credentialsId !== 'number') {
      issues.push({
        path: ['trigger', 'credentialsId'],
        message: `the trigger ${trigger.id} reads an account: name its ${spec.trigger.serviceProvider} credential`,
      });
    }
    const triggerConfig = trigger.config.safeParse(spec.trigger.config ?? {});
    if (!triggerConfig.success) issues.push(...zodIssues(triggerConfig.error, ['trigger', 'config']));
    const actionConfig = action.config.safeParse(spec.action.config ?? {});
    if (!actionConfig.success) issues.push(...zodIssues(actionConfig.error, ['action', 'config']));

    const outputSchema = toJsonSchema(trigger.output, 'output');
    for (const reference of listTemplateReferences(toJson(spec.action.config))) {
      const path = ['action', 'config', ...reference.location.split('.').filter(Boolean)];
      if (!reference.path) {
        issues.push({
          path,
          message: `"{{${reference.expression}}}" must look like {{trigger.field.subfield}}`,
        });
      } else if (!schemaHasPath(outputSchema, reference.path)) {
        issues.push({
          path,
          message: `"{{${reference.expression}}}": the trigger ${trigger.id} has no output field "${reference.path.join('.')}"`,
        });
      }
    }
    issues.push(...this.#egressIssues(action, toJson(spec.action.config ?? {}), context));
    if (issues.length > 0 || !triggerConfig.success || !actionConfig.success) return { ok: false, issues };
    // The raw config is stored, not the parsed one: templates must survive until the run renders them.
    return {
      ok: true,
      triggerConfig: toJson(spec.trigger.config ?? {}),
      actionConfig: toJson(spec.action.config ?? {}),
    };
  }

  /** URL templates that could change their origin; a credential's token bound for a host not its own. */
  #egressIssues(action: ActionDefinition, config: JsonValue, context: SpecContext): SpecIssue[] {
    const issues: SpecIssue[] = urlTemplateIssues(action, config).map(({ field, message }) => ({
      path: ['action', 'config', field],
      message,
    }));
    const credentialProvider =
      context.actionCredentialProvider === undefined
        ? undefined
        : this.provider(context.actionCredentialProvider);
    if (!credentialProvider || issues.length > 0) return issues;
    // At save the declared hosts count, not a deployment's base-URL overrides: those the worker adds.
    const providerHosts = providerApiHosts(credentialProvider);
    const listed = ownerListedHosts(action, config);
    for (const field of action.urlFields ?? []) {
      const template =
        config !== null && typeof config === 'object' && !Array.isArray(config) ? config[field] : undefined;
      if (typeof template !== 'string') continue;
      let host: string;
      try {
        host = checkUrlTemplate(template).host;
      } catch (error) {
        if (error instanceof UrlTemplateError) continue;
        throw error;
      }
      if (providerHosts.has(host) || listed.includes(host)) continue;
      const listField = action.credentialHostsField;
      issues.push({
        path: ['action', 'config', field],
        message:
          `the ${credentialProvider.id} credential's token goes only to ${[...providerHosts].join(', ') || "its provider's hosts"}` +
          (listField ? `; to send it to ${host}, list "${host}" in ${listField}` : ''),
      });
    }
    return issues;
  }
}

/** Request bodies arrive as JSON already; this narrows `unknown` to JSON without a cast. */
export function toJson(value: unknown): JsonValue {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (Array.isArray(value)) return value.map(toJson);
  if (typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, toJson(item)]));
  }
  return null;
}
