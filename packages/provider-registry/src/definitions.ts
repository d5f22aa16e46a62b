import type { ActionExecutionOptions, JsonValue } from '@autoflow/workflow-contracts';
import type { Dispatcher } from 'undici';
import type { z } from 'zod';
import type { PushEndpoint } from './push.js';

// How a provider declares itself: a manifest (id, name, auth as data) and one small definition per
// trigger and per action, each with zod schemas for its config and its output.

export interface OAuth2AuthSpec {
  type: 'oauth2';
  authorizeUrl: string;
  tokenUrl: string;
  revokeUrl?: string;
  scopes: readonly string[];
  /** Extra authorize parameters, e.g. Google's `access_type=offline`. */
  authorizeParams?: Readonly<Record<string, string>>;
  /**
   * Names of the environment variables that override the URLs above (tests, private deployments) and
   * that hold the platform app's client id and secret.
   */
  env: {
    authorizeUrl: string;
    tokenUrl: string;
    revokeUrl?: string;
    clientId: string;
    clientSecret: string;
  };
  /**
   * Hosts of the provider's API (`host` or `host:port`, as `URL.host` spells them): a credential of this
   * provider sends its token only there, or to hosts the workflow's owner lists on the action.
   */
  apiHosts: readonly string[];
  /**
   * Names of the provider's settings that override its API base URL (tests, private deployments): their
   * hosts count as API hosts in the worker.
   */
  apiBaseUrlSettings?: readonly string[];
  /** A cheap call that tells whose account a token belongs to (POST /api/credentials/:id/test). */
  identity?: {
    /** The provider API's base URL, and the variable that overrides it. */
    baseUrl: string;
    baseUrlEnv: string;
    path: string;
    /** The field of the JSON answer that names the account. */
    accountField: string;
  };
}

/** The OAuth endpoints and platform client of a provider, after environment overrides. */
export interface ResolvedOAuth2 {
  authorizeUrl: string;
  tokenUrl: string;
  revokeUrl: string | undefined;
  scopes: readonly string[];
  authorizeParams: Readonly<Record<string, string>>;
  platformClient: { clientId: string; clientSecret: string } | undefined;
  identity: { url: string; accountField: string } | undefined;
}

export function resolveOAuth2(
  auth: OAuth2AuthSpec,
  env: Readonly<Record<string, string | undefined>>,
): ResolvedOAuth2 {
  const clientId = env[auth.env.clientId];
  const clientSecret = env[auth.env.clientSecret];
  return {
    authorizeUrl: env[auth.env.authorizeUrl] || auth.authorizeUrl,
    tokenUrl: env[auth.env.tokenUrl] || auth.tokenUrl,
    revokeUrl: (auth.env.revokeUrl && env[auth.env.revokeUrl]) || auth.revokeUrl,
    scopes: auth.scopes,
    authorizeParams: auth.authorizeParams ?? {},
    platformClient: clientId && clientSecret ? { clientId, clientSecret } : undefined,
    identity: auth.identity && {
      url: `${(env[auth.identity.baseUrlEnv] || auth.identity.baseUrl).replace(/\/$/, '')}${auth.identity.path}`,
      accountField: auth.identity.accountField,
    },
  };
}

/** Every OAuth provider's endpoints and platform client after `env` overrides, by provider id. */
export function resolveOAuth2Providers(
  providers: readonly { id: string; auth: AuthSpec }[],
  env: Readonly<Record<string, string | undefined>>,
): Map<string, ResolvedOAuth2> {
  return new Map(
    providers.flatMap((provider) =>
      provider.auth.type === 'oauth2' ? [[provider.id, resolveOAuth2(provider.auth, env)] as const] : [],
    ),
  );
}

export type AuthSpec = { type: 'none' } | OAuth2AuthSpec;

export type TriggerKind = 'event' | 'webhook' | 'schedule' | 'manual';

export interface TriggerDefinition<
  Config extends z.ZodType = z.ZodType,
  Output extends z.ZodType = z.ZodType,
> {
  id: string;
  name: string;
  description: string;
  kind: TriggerKind;
  config: Config;
  output: Output;
  /** A representative output; used by docs, contract tests and template previews. */
  sampleOutput: z.output<Output>;
  /** How trigger-ingest reads a request to this trigger's hook URL (webhook triggers only). */
  webhook?: WebhookHandling<z.output<Config>>;
  /** Event triggers that read a connected account: the listener workflow that watches it. */
  listener?: ListenerWorkflow;
}

/**
 * The long-lived workflow that watches one connected account for a trigger (Gmail's mailbox workflow).
 * The API signals it whenever a workflow using the account is activated, edited, deactivated or deleted.
 */
export interface ListenerWorkflow {
  workflowType: string;
  workflowId(credentialId: number): string;
  /** The workflow's start argument. */
  input(credentialId: number): JsonValue;
  subscriptionsChangedSignal: string;
}

/** An active workflow whose trigger reads the listener's account. */
export interface ListenerSubscriber {
  workflowId: number;
  /** The stored trigger config; parse it with the trigger's schema. */
  triggerConfig: unknown;
  /** The action's config, so a listener can fetch only what its templates read. */
  actionConfig: JsonValue;
  /** Starts this workflow's run for an event; the same event id never starts a second run. */
  startRun(eventId: string, triggerData: JsonValue): Promise<{ started: boolean }>;
}

/** What a listener remembers about its account, outside its workflow: routing and resumption. */
export interface ListenerRecord {
  /** The account's address, by which pushes are routed (a mailbox's email address). */
  account: string;
  /** The last processed position in the account's event stream (Gmail's historyId). */
  cursor: string | null;
  /** When the provider-side subscription was last made or renewed, and when it expires. */
  watchedAt: Date | null;
  watchExpiresAt: Date | null;
}

/** What the worker hands a provider's listener activities. */
export interface ListenerServices<Settings = unknown> extends ActionServices<Settings> {
  /**
   * Calls `use` with a valid access token of the credential (refreshed when close to expiry) for calls
   * to `url`; refused unless the URL's host is one of the credential's provider's API hosts. When `use`
   * throws TokenRejectedError, the token is renewed once and `use` is called once more (see CredentialAccess).
   */
  withAccessTokenFor<T>(
    credentialId: number,
    url: string,
    use: (accessToken: string) => Promise<T>,
  ): Promise<T>;
  subscribers(credentialId: number): Promise<ListenerSubscriber[]>;
  records: {
    get(credentialId: number): Promise<ListenerRecord | undefined>;
    save(credentialId: number, record: ListenerRecord): Promise<void>;
    /** Moves the copy of the cursor after a read: one write, no read (it runs on every push). */
    saveCursor(credentialId: number, cursor: string): Promise<void>;
    remove(credentialId: number): Promise<void>;
  };
}

/** Any activity function, whatever its input. */
export type ActivityFunction = (input: never) => Promise<unknown>;

/** An inbound request as trigger-ingest hands it to a webhook trigger: the exact bytes, lower-case headers. */
export interface InboundRequest {
  rawBody: string;
  headers: Readonly<Record<string, string>>;
  query: Readonly<Record<string, string>>;
}

export interface WebhookHandling<Config> {
  /** `required`: every workflow gets a signing secret; `optional`: only when its config asks for one. */
  secret: 'required' | 'optional';
  wantsSecret(config: Config): boolean;
  /** Checks the sender's signature with the workflow's secret (constant-time). */
  verify(request: InboundRequest, secret: string): boolean;
  /**
   * The event's id, which makes a redelivery start no second run. It must be covered by the signature
   * (or derived from what is, e.g. a hash of the signed body): an unsigned id lets a captured delivery
   * be replayed as a new event.
   */
  eventId(request: InboundRequest): string | undefined;
  /** The trigger's output for this request, or undefined when this workflow does not want it. */
  output(request: InboundRequest, config: Config): JsonValue | undefined;
}

/** What the worker hands an action: everything it may use to reach the outside world. */
export interface ActionServices<Settings = unknown> {
  /** Outbound HTTP that refuses private and metadata addresses unless allow-listed. */
  httpDispatcher: Dispatcher;
  /**
   * Its own provider's settings (the provider's `settings` schema), parsed once when the worker starts:
   * nothing else of the worker's environment.
   */
  settings: Settings;
  /** Reports what the provider's API calls spend of its quota (the worker's metrics); absent in tests. */
  usage?: ProviderUsage;
}

/**
 * Where a provider reports its API usage without depending on a metrics library: the worker binds it
 * to the provider's id and counts it (autoflow_provider_quota_units_total).
 */
export interface ProviderUsage {
  /** One call to `method` (e.g. Gmail's `messages.get`) spent `units` of the provider's quota. */
  quotaSpent(method: string, units: number): void;
}

/** The account a workflow's action acts as, when it names a credential. */
export interface CredentialAccess {
  /**
   * Calls `use` with a valid access token (refreshed when close to expiry) for calls to `url`. Refused
   * with CredentialHostRefusedError unless the URL's host is one its provider declares (`apiHosts`, or a
   * base-URL setting's host) or one the workflow's owner listed on the action.
   *
   * When the provider answers that it no longer honours the token (a 401 before the stored expiry),
   * `use` throws TokenRejectedError: the platform then renews the token ONCE (under the credential's row
   * lock: a token a concurrent run already renewed is reused, not refreshed again) and calls `use` ONCE
   * more. A refused refresh token marks the credential needs_reconnect; a renewed token refused again
   * fails the run (TokenRejectedError is a PermanentActionError).
   */
  withAccessTokenFor<T>(url: string | URL, use: (accessToken: string) => Promise<T>): Promise<T>;
}

export interface ActionContext<Config, Settings = unknown> extends ActionServices<Settings> {
  /** Present when the workflow's action names a credential. */
  credential: CredentialAccess | undefined;
  /** The config with every `{{trigger.…}}` template already rendered. */
  config: Config;
  /** Stable across retries of the same run; send it to targets that deduplicate. */
  idempotencyKey: string;
  /** Aborted when the run is cancelled or the attempt times out. */
  signal: AbortSignal;
  /** Tells Temporal this attempt is alive; call during long waits. */
  heartbeat(): void;
  /** 1 on the first attempt; a higher one means an earlier attempt may have reached the target. */
  attempt: number;
}

export interface ActionDefinition<
  Config extends z.ZodType = z.ZodType,
  Output extends z.ZodType = z.ZodType,
  Settings extends z.ZodType = z.ZodType,
> {
  id: string;
  name: string;
  description: string;
  config: Config;
  output: Output;
  /** Its provider's settings schema (the very object of the manifest), so that `run` sees them typed. */
  settings?: Settings;
  /**
   * Top-level config fields that hold URLs. Templates may fill only their path segments and query
   * values (checked at save); the worker percent-encodes each value and checks the rendered origin.
   */
  urlFields?: readonly string[];
  /**
   * The top-level config field (a list of `host[:port]`, no templates) where the workflow's owner names
   * further hosts the credential's token may be sent to. Read from the stored config, never rendered.
   */
  credentialHostsField?: string;
  /** Overrides of the default queue, timeouts and retries. */
  execution?: Partial<ActionExecutionOptions>;
  /**
   * A valid config whose calls go to `baseUrl`, for the contract-test kit. Actions that call a fixed
   * provider API reach it through their base-URL variable instead and may ignore the argument.
   */
  sampleConfig(baseUrl: string): z.input<Config>;
  // Method syntax on purpose: a registry holds actions of many config types side by side.
  run(context: ActionContext<z.output<Config>, z.output<Settings>>): Promise<z.output<Output>>;
}

export interface ProviderDefinition<Settings extends z.ZodType = z.ZodType> {
  id: string;
  name: string;
  auth: AuthSpec;
  /**
   * The deployment settings this provider reads (environment variable names as keys, defaults in the
   * schema). The worker parses them once at start; the provider's actions and listeners get only these.
   */
  settings?: Settings;
  /** Task queues of this provider's queued actions, each limited to the provider's quota. */
  queues?: Readonly<Record<string, { maxActivitiesPerSecond: number }>>;
  triggers: readonly TriggerDefinition[];
  actions: readonly ActionDefinition[];
  /** The endpoint a push-style source sends its events to (served at POST /push/{id} by trigger-ingest). */
  push?: PushEndpoint<z.output<Settings>>;
  /** Activities of this provider's listener workflows, registered on the main task queue. */
  listenerActivities?(services: ListenerServices<z.output<Settings>>): Record<string, ActivityFunction>;
}

/** Identity helpers that keep each definition's schema types for its `run` and sample. */
export function defineTrigger<Config extends z.ZodType, Output extends z.ZodType>(
  definition: TriggerDefinition<Config, Output>,
): TriggerDefinition<Config, Output> {
  return definition;
}

export function defineAction<
  Config extends z.ZodType,
  Output extends z.ZodType,
  Settings extends z.ZodType = z.ZodType,
>(definition: ActionDefinition<Config, Output, Settings>): ActionDefinition<Config, Output, Settings> {
  return definition;
}

export function defineProvider<Settings extends z.ZodType = z.ZodType>(
  definition: ProviderDefinition<Settings>,
): ProviderDefinition<Settings> {
  return definition;
}

/** A failure that retrying cannot fix: bad config, a refused address, a 4xx other than 408/429. */
export class PermanentActionError extends Error {
  override name = 'PermanentActionError';
  constructor(
    message: string,
    readonly details?: JsonValue,
  ) {
    super(message);
  }
}

/**
 * The provider refused the access token it was given (HTTP 401, Slack's `invalid_auth`): thrown inside
 * `withAccessTokenFor`'s callback, it makes the platform renew the token and call once more.
 */
export class TokenRejectedError extends PermanentActionError {
  override name = 'TokenRejectedError';
}

/** A failure worth retrying: 5xx, 429, timeouts, connection errors. */
export class RetryableActionError extends Error {
  override name = 'RetryableActionError';
  constructor(
    message: string,
    /** The target's own Retry-After, when it gave one. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}
