import type { FieldEncryption, Keyring } from '@autoflow/crypto';
import type { Database } from '@autoflow/db';
import type { RateLimitRule, ReadinessChecks, SharedRateLimits, TokenService } from '@autoflow/http-kit';
import type { CredentialService } from '@autoflow/oauth';
import type { ProviderRegistry, ResolvedOAuth2 } from '@autoflow/provider-registry';
import type {
  ExecutionChanges,
  ExecutionControl,
  RunStarter,
  ScheduleManager,
  TriggerListeners,
} from '@autoflow/runs';

/** Limits on the unauthenticated account routes, counted before any password is hashed. */
export interface AuthLimits {
  login: { perAddress: RateLimitRule; perAccount: RateLimitRule };
  register: { perAddress: RateLimitRule; perAccount: RateLimitRule };
}

/** Everything the API needs from outside; server.ts builds the real ones, tests may pass their own. */
export interface ApiGatewayDeps {
  db: Database;
  readiness: ReadinessChecks;
  tokens: TokenService;
  keyring: FieldEncryption;
  /** The env keyring that seals Temporal payloads (the codec endpoint opens them with it). */
  payloadKeyring: Keyring;
  registry: ProviderRegistry;
  runs: RunStarter;
  /** Re-runs and cancellation of executions. */
  executions: ExecutionControl;
  /** Writes of execution rows, from Postgres LISTEN (started by the caller): the live stream's source. */
  executionChanges: ExecutionChanges;
  /** How often an open execution stream sends a heartbeat comment. */
  streamHeartbeatMs: number;
  /** Where the Temporal UI shows a run; unset: executions carry no link. */
  temporalUi?: { baseUrl: string; namespace: string };
  schedules: ScheduleManager;
  /** Listener workflows (Gmail's mailbox) of accounts that triggers read. */
  listeners: TriggerListeners;
  credentials: CredentialService;
  /** Each OAuth provider's endpoints and platform app, resolved from the environment at start. */
  oauthProviders: ReadonlyMap<string, ResolvedOAuth2>;
  publicWebhookBaseUrl: string;
  /** The Temporal UI's origin, allowed by CORS on the codec endpoint. */
  temporalUiOrigin?: string;
  /** Frontend origins allowed by CORS on /api/ (none when absent or empty). */
  corsAllowedOrigins?: ReadonlySet<string>;
  /** Counts shared by every replica (Postgres). */
  rateLimits: SharedRateLimits;
  authLimits: AuthLimits;
}
