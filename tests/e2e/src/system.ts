import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type ApiClient, createApiClient, type operations } from '@autoflow/client';
import { Keyring } from '@autoflow/crypto';
import {
  type AppName,
  caddyPath,
  freePort,
  LaunchedSystem,
  type RunningProxy,
  startProxy,
} from '@autoflow/local-stack';
import { encryptedDataConverter } from '@autoflow/temporal-codec';
import type { ConnectionOptions, DataConverter } from '@temporalio/client';
import postgres from 'postgres';
import { expect, inject } from 'vitest';
import { startRecording } from './observed-statuses.js';

/** Shapes of the API's answers, from the committed OpenAPI document. */
export type Execution = operations['getExecution']['responses'][200]['content']['application/json'];
export type Workflow = operations['getWorkflow']['responses'][200]['content']['application/json'];
export type WorkflowBody = operations['createWorkflow']['requestBody']['content']['application/json'];
type ExecutionPage = operations['listWorkflowExecutions']['responses'][200]['content']['application/json'];

export interface ApiResponse {
  status: number;
  contentType: string;
  body: unknown;
}

/** A typed client's answer as untyped assertions read it: the status, its content type and its body. */
export async function answerOf(
  call: Promise<{ data?: unknown; error?: unknown; response: Response }>,
): Promise<ApiResponse> {
  const { data, error, response } = await call;
  return {
    status: response.status,
    contentType: response.headers.get('content-type') ?? '',
    body: error ?? data,
  };
}

/** A field of a JSON object, or undefined; keeps assertions free of casts. */
export function field(value: unknown, ...path: (string | number)[]): unknown {
  let current = value;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = Object.entries(current).find(([name]) => name === String(key))?.[1];
  }
  return current;
}

export function listOf(value: unknown, key = 'items'): unknown[] {
  const items = field(value, key);
  return Array.isArray(items) ? items : [];
}

/**
 * A raw HTTP call, for what is not the API: webhooks and Pub/Sub pushes (sent by providers), probes,
 * /openapi.json. A raw fetch of an /api operation throws (see installFetchRecorder): use `client()`.
 */
export async function http(
  method: string,
  url: string,
  options: { body?: unknown; token?: string; headers?: Record<string, string>; rawBody?: string } = {},
): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] = 'application/json';
  }
  const response = await fetch(url, { method, headers, body });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON
  }
  return { status: response.status, contentType: response.headers.get('content-type') ?? '', body: parsed };
}

/**
 * Follows a provider's redirect to the OAuth callback as a browser would, through the typed client on
 * the callback URL's own origin, without following the callback's 302 (its `Location` is the answer).
 */
export function oauthCallback(callbackUrl: string) {
  const url = new URL(callbackUrl);
  if (url.pathname !== '/api/oauth2-credential/callback') throw new Error(`not the callback: ${callbackUrl}`);
  const query: { state?: string; code?: string; error?: string } = {};
  for (const [name, value] of url.searchParams) {
    // Only what the contract declares; anything else would be silently dropped, so it fails instead.
    if (name !== 'state' && name !== 'code' && name !== 'error')
      throw new Error(`the callback URL carries an undeclared parameter: ${name}`);
    query[name] = value;
  }
  return createApiClient({ baseUrl: url.origin }).GET('/api/oauth2-credential/callback', {
    params: { query },
    redirect: 'manual',
  });
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 60_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export interface SystemOptions {
  /** Hosts the HTTP action may reach although they are loopback (the sink). */
  allowedHosts: string[];
  /** More variables for every app (provider URL overrides, …). */
  env?: Record<string, string>;
  /** Another Temporal server than the run's (the TLS test's), and the TLS to create the namespace on it. */
  temporal?: { address: string; tls: ConnectionOptions['tls'] };
  /**
   * Caddy on infra/caddy/Caddyfile in front of the apps, as compose and ./scripts/stack run it: every
   * public route on `system.origin`, which the apps also put in the URLs they show (webhooks, the OAuth
   * callback), and whose X-Forwarded-For they trust.
   */
  proxy?: boolean;
  /** The proxy's port, when the caller must know its origin before the apps start (an OAuth redirect allowlist). */
  proxyPort?: number;
}

/**
 * The four apps as separate OS processes over a fresh database and Temporal namespace, reached only
 * over HTTP, as a frontend would. Every log line they print is kept for the tests to scan.
 */
export class System {
  readonly logLines: string[] = [];
  #launched: LaunchedSystem | undefined;
  #proxy: RunningProxy | undefined;
  #proxyPort: number | undefined;
  sql!: postgres.Sql;

  constructor(private readonly options: SystemOptions) {}

  get launched(): LaunchedSystem {
    if (!this.#launched) throw new Error('the system is not started');
    return this.#launched;
  }

  get apps() {
    return this.launched.apps;
  }

  url(app: AppName, path: string): string {
    return this.launched.url(app, path);
  }

  /** The proxy's origin, where every public route answers (with `proxy: true`). */
  get origin(): string {
    if (!this.#proxy) throw new Error('the system runs without the proxy (SystemOptions.proxy)');
    return this.#proxy.origin;
  }

  /**
   * The typed client (@autoflow/client) on an app's origin, as `token`'s user when given: paths, bodies
   * and answers are checked against the committed OpenAPI document at compile time.
   */
  client(token?: string, app: 'api-gateway' | 'oauth-service' | 'trigger-ingest' = 'api-gateway'): ApiClient {
    return createApiClient({
      baseUrl: this.url(app, '/'),
      ...(token ? { token } : {}),
    });
  }

  async start(): Promise<void> {
    // The apps show the proxy's URLs, so its port is chosen before they start.
    this.#proxyPort = this.options.proxy ? (this.options.proxyPort ?? (await freePort())) : undefined;
    const behindProxy: Record<string, string> = this.#proxyPort
      ? {
          PUBLIC_WEBHOOK_BASE_URL: `http://127.0.0.1:${this.#proxyPort}`,
          OAUTH_CALLBACK_URL: `http://127.0.0.1:${this.#proxyPort}/api/oauth2-credential/callback`,
          TRUST_PROXY: 'loopback',
        }
      : {};
    this.#launched = await LaunchedSystem.launch({
      baseDatabaseUrl: inject('databaseUrl'),
      temporalAddress: this.options.temporal?.address ?? inject('temporalAddress'),
      temporalTls: this.options.temporal?.tls,
      label: 'e2e',
      env: {
        HTTP_ACTION_ALLOWED_HOSTS: this.options.allowedHosts.join(','),
        ...behindProxy,
        ...this.options.env,
      },
      inheritedEnv: process.env,
      onLine: (source, line) => this.logLines.push(`${source} ${line}`),
    });
    this.sql = postgres(this.#launched.databaseUrl, { max: 2, onnotice: () => {} });
    if (this.#proxyPort) {
      const upstream = (app: AppName) => `127.0.0.1:${this.launched.apps.get(app)?.port ?? 0}`;
      this.#proxy = await startProxy({
        caddyPath: caddyPath(process.env),
        host: '127.0.0.1',
        port: this.#proxyPort,
        upstreams: {
          'api-gateway': upstream('api-gateway'),
          'oauth-service': upstream('oauth-service'),
          'trigger-ingest': upstream('trigger-ingest'),
        },
        onOutput: (line) => this.logLines.push(`proxy ${line}`),
      });
    }
    const launched = this.#launched;
    startRecording({
      directory: inject('observedStatusesDir'),
      testFile: expect.getState().testPath ?? 'unknown test file',
      // Answers through the proxy are checked against the document too.
      origins: [
        ...(['api-gateway', 'oauth-service', 'trigger-ingest'] as const).map(
          (app) => new URL(launched.url(app, '/')).origin,
        ),
        ...(this.#proxy ? [this.#proxy.origin] : []),
      ],
    });
  }

  startApp(name: AppName) {
    return this.launched.startApp(name);
  }

  async stop(): Promise<void> {
    await this.#proxy?.stop();
    await this.sql?.end({ timeout: 5 });
    await this.#launched?.stop();
  }

  /** The apps' keyring: tests that talk to Temporal directly read payloads as the apps do. */
  keyring(): Keyring {
    return Keyring.fromEnv(this.launched.env.ENCRYPTION_KEYS, this.launched.env.ENCRYPTION_CURRENT_KEY_ID);
  }

  /** The `dataConverter` of a test's own Temporal client (encrypted payloads, as the apps use). */
  dataConverter(): DataConverter {
    return encryptedDataConverter(this.keyring());
  }

  /**
   * A workflow's history exactly as Temporal stores it (every run of the id), read with the Temporal CLI
   * (`temporal workflow show --output json`), which has no codec: what an operator of Temporal sees.
   */
  async rawHistory(temporalWorkflowId: string): Promise<string> {
    const cli =
      process.env.TEMPORAL_CLI_PATH ??
      fileURLToPath(new URL('../../../.tools/bin/temporal', import.meta.url));
    const { stdout } = await promisify(execFile)(
      cli,
      [
        'workflow',
        'show',
        '--workflow-id',
        temporalWorkflowId,
        '--namespace',
        this.launched.namespace,
        '--address',
        this.launched.env.TEMPORAL_ADDRESS ?? '',
        '--output',
        'json',
      ],
      { maxBuffer: 64 * 1024 * 1024 },
    );
    return stdout;
  }

  /** Registers a user and returns its bearer token. */
  async signUp(
    email = `user-${randomBytes(4).toString('hex')}@example.com`,
  ): Promise<{ token: string; userId: number }> {
    const { data, error } = await this.client().POST('/api/auth/register', {
      body: { email, password: 'correct horse battery' },
    });
    if (!data) throw new Error(`register failed: ${JSON.stringify(error)}`);
    return { token: data.token, userId: data.user.id };
  }

  /**
   * Connects an account through oauth-service as a frontend would: /auth, the provider's consent (a fake
   * that redirects at once), the callback's 302 with a one-time handle, then /complete as the same user.
   * Answers the credential id.
   */
  async connectThroughOAuth(options: {
    token: string;
    provider: string;
    redirectUrl: string;
    credentialId?: number;
  }): Promise<number> {
    const oauth = this.client(options.token, 'oauth-service');
    const begin = await oauth.GET('/api/oauth2-credential/auth', {
      params: {
        query: {
          provider: options.provider,
          redirectUrl: options.redirectUrl,
          ...(options.credentialId !== undefined ? { credentialId: options.credentialId } : {}),
        },
      },
      headers: { accept: 'application/json' },
    });
    if (!begin.data)
      throw new Error(`/auth answered ${begin.response.status}: ${JSON.stringify(begin.error)}`);
    const consent = await fetch(begin.data.authorizationUrl, { redirect: 'manual' });
    const callbackUrl = consent.headers.get('location') ?? '';
    const { response: callback } = await oauthCallback(callbackUrl);
    const landing = new URL(callback.headers.get('location') ?? '');
    if (landing.searchParams.get('status') !== 'pending')
      throw new Error(
        `the callback sent the browser to ${landing.pathname}?status=${landing.searchParams.get('status')}`,
      );
    const completed = await oauth.POST('/api/oauth2-credential/complete', {
      body: { handle: landing.searchParams.get('handle') ?? '' },
    });
    if (!completed.data)
      throw new Error(`/complete answered ${completed.response.status}: ${JSON.stringify(completed.error)}`);
    return completed.data.credentialId;
  }

  /** A connected credential without the OAuth flow (oauth.test.ts tests the flow itself). */
  insertConnectedCredential(userId: number, provider: string, accessToken: string): Promise<number> {
    return this.launched.insertConnectedCredential(this.sql, { userId, provider, accessToken });
  }

  /** Creates a workflow as `token`'s user; throws with the problem when it is refused. */
  async createWorkflow(token: string, body: WorkflowBody): Promise<Workflow> {
    const { data, error, response } = await this.client(token).POST('/api/workflows', { body });
    if (!data) throw new Error(`creating a workflow answered ${response.status}: ${JSON.stringify(error)}`);
    return data;
  }

  /** Activates a workflow as `token`'s user; throws with the problem when it is refused. */
  async activate(token: string, workflowId: number): Promise<Workflow> {
    const { data, error, response } = await this.client(token).POST('/api/workflows/{id}/activate', {
      params: { path: { id: workflowId } },
    });
    if (!data) throw new Error(`activating answered ${response.status}: ${JSON.stringify(error)}`);
    return data;
  }

  /** Creates and activates a workflow; `hookUrl` is its webhook URL ('' for other triggers). */
  async createActiveWorkflow(token: string, body: WorkflowBody): Promise<{ id: number; hookUrl: string }> {
    const created = await this.createWorkflow(token, body);
    await this.activate(token, created.id);
    return { id: created.id, hookUrl: created.webhook?.url ?? '' };
  }

  /** Runs a workflow now with `payload` for its trigger; throws with the problem when it is refused. */
  async runWorkflow(
    token: string,
    workflowId: number,
    payload?: unknown,
  ): Promise<{ executionId: number; temporalWorkflowId: string }> {
    const { data, error, response } = await this.client(token).POST('/api/workflows/{id}/run', {
      params: { path: { id: workflowId } },
      body: payload === undefined ? {} : { payload },
    });
    if (!data) throw new Error(`running answered ${response.status}: ${JSON.stringify(error)}`);
    return data;
  }

  /** One execution as its owner sees it; throws with the problem when it cannot be read. */
  async execution(token: string, executionId: number): Promise<Execution> {
    const { data, error, response } = await this.client(token).GET('/api/executions/{id}', {
      params: { path: { id: executionId } },
    });
    if (!data)
      throw new Error(
        `reading execution ${executionId} answered ${response.status}: ${JSON.stringify(error)}`,
      );
    return data;
  }

  /** Every execution of a workflow, through the API (following cursors). */
  async executions(token: string, workflowId: number): Promise<Execution[]> {
    const client = this.client(token);
    const page = async (cursor: string | undefined): Promise<ExecutionPage> => {
      const { data, response } = await client.GET('/api/workflows/{id}/executions', {
        params: { path: { id: workflowId }, query: { limit: 100, ...(cursor ? { cursor } : {}) } },
      });
      if (!data) throw new Error(`listing executions failed: ${response.status}`);
      return data;
    };
    const all: Execution[] = [];
    for (let next: string | undefined; ; ) {
      const { items, nextCursor } = await page(next);
      all.push(...items);
      if (!nextCursor) return all;
      next = nextCursor;
    }
  }
}
