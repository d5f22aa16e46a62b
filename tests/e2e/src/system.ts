import { randomBytes } from 'node:crypto';
import { generateKey } from '@autoflow/crypto';
import { runMigrations } from '@autoflow/db';
import {
  APP_NAMES,
  type AppName,
  createDatabase,
  dropDatabase,
  ensureNamespace,
  freePort,
  type ManagedProcess,
  spawnApp,
  waitUntilReady,
} from '@autoflow/local-stack';
import postgres from 'postgres';
import { inject } from 'vitest';

export interface ApiResponse {
  status: number;
  contentType: string;
  body: unknown;
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
}

/**
 * The four apps as separate OS processes over a fresh database and Temporal namespace, reached only
 * over HTTP, as a frontend would. Every log line they print is kept for the tests to scan.
 */
export class System {
  readonly logLines: string[] = [];
  readonly apps = new Map<AppName, ManagedProcess>();
  #env: Record<string, string> = {};
  #databaseName = '';
  #baseDatabaseUrl = '';
  sql!: postgres.Sql;

  constructor(private readonly options: SystemOptions) {}

  url(app: AppName, path: string): string {
    const running = this.apps.get(app);
    if (!running) throw new Error(`${app} is not running`);
    return `${running.baseUrl}${path}`;
  }

  api(method: string, path: string, options: Parameters<typeof http>[2] = {}) {
    return http(method, this.url('api-gateway', path), options);
  }

  async start(): Promise<void> {
    this.#baseDatabaseUrl = inject('databaseUrl');
    const temporalAddress = inject('temporalAddress');
    const suffix = randomBytes(4).toString('hex');
    this.#databaseName = `e2e_${suffix}`;
    const databaseUrl = await createDatabase(this.#baseDatabaseUrl, this.#databaseName);
    await runMigrations(databaseUrl);
    const namespace = `e2e-${suffix}`;
    await ensureNamespace(temporalAddress, namespace);
    this.sql = postgres(databaseUrl, { max: 2, onnotice: () => {} });

    const ports = Object.fromEntries(
      await Promise.all(APP_NAMES.map(async (name) => [name, await freePort()] as const)),
    );
    this.#env = {
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: temporalAddress,
      TEMPORAL_NAMESPACE: namespace,
      JWT_SECRET: randomBytes(32).toString('hex'),
      ENCRYPTION_KEYS: `test1:${generateKey()}`,
      HTTP_ACTION_ALLOWED_HOSTS: this.options.allowedHosts.join(','),
      PUBLIC_WEBHOOK_BASE_URL: `http://127.0.0.1:${ports['trigger-ingest']}`,
      LOG_LEVEL: 'info',
    };
    await Promise.all(APP_NAMES.map((name) => this.startApp(name, Number(ports[name]))));
  }

  async startApp(name: AppName, port?: number): Promise<ManagedProcess> {
    const app = spawnApp({
      name,
      port: port ?? this.apps.get(name)?.port ?? (await freePort()),
      env: this.#env,
      onLine: (source, line) => this.logLines.push(`${source} ${line}`),
    });
    this.apps.set(name, app);
    await waitUntilReady(app);
    return app;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.apps.values()].map((app) => app.stop()));
    await this.sql?.end({ timeout: 5 });
    if (this.#databaseName) await dropDatabase(this.#baseDatabaseUrl, this.#databaseName);
  }

  /** Registers a user and returns its bearer token. */
  async signUp(
    email = `user-${randomBytes(4).toString('hex')}@example.com`,
  ): Promise<{ token: string; userId: number }> {
    const response = await this.api('POST', '/api/auth/register', {
      body: { email, password: 'correct horse battery' },
    });
    if (response.status !== 201) throw new Error(`register failed: ${JSON.stringify(response.body)}`);
    return {
      token: String(field(response.body, 'token')),
      userId: Number(field(response.body, 'user', 'id')),
    };
  }

  /** Every execution of a workflow, through the API (following cursors). */
  async executions(token: string, workflowId: number): Promise<unknown[]> {
    const all: unknown[] = [];
    let cursor: unknown = null;
    do {
      const query = cursor ? `?limit=100&cursor=${String(cursor)}` : '?limit=100';
      const response = await this.api('GET', `/api/workflows/${workflowId}/executions${query}`, { token });
      if (response.status !== 200) throw new Error(`listing executions failed: ${response.status}`);
      all.push(...listOf(response.body));
      cursor = field(response.body, 'nextCursor');
    } while (cursor);
    return all;
  }
}
