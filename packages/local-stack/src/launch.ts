import { randomBytes } from 'node:crypto';
import { generateKey, Keyring } from '@autoflow/crypto';
import { runMigrations } from '@autoflow/db';
import type { ConnectionOptions } from '@temporalio/client';
import type postgres from 'postgres';
import { APP_NAMES, type AppName, freePort, type ManagedProcess, spawnApp, waitUntilReady } from './apps.js';
import { ensureNamespace } from './namespaces.js';
import { createDatabase, dropDatabase } from './postgres.js';

export interface LaunchOptions {
  /** A Postgres URL; a fresh database is created next to the one it names. */
  baseDatabaseUrl: string;
  temporalAddress: string;
  /** TLS (and mTLS) for creating the namespace, when the server requires it; the apps get theirs from `env`. */
  temporalTls?: ConnectionOptions['tls'];
  /** Prefix of the database and namespace names, e.g. "e2e" or "bench". */
  label: string;
  apps?: readonly AppName[];
  /** Extra variables for every app (e.g. HTTP_ACTION_ALLOWED_HOSTS). */
  env?: Record<string, string>;
  /** What every app inherits under those (the caller's environment); nothing when unset. */
  inheritedEnv?: Readonly<Record<string, string | undefined>>;
  onLine?: (app: AppName, line: string) => void;
}

/**
 * The apps as separate OS processes over their own database and Temporal namespace: what the
 * end-to-end tests and the benchmarks run against.
 */
export class LaunchedSystem {
  readonly apps = new Map<AppName, ManagedProcess>();
  /** More processes of an app (a second worker pool), beside the one in `apps`. */
  readonly extraApps: ManagedProcess[] = [];

  private constructor(
    private readonly options: LaunchOptions,
    readonly databaseName: string,
    readonly databaseUrl: string,
    readonly namespace: string,
    readonly env: Record<string, string>,
  ) {}

  static async launch(options: LaunchOptions): Promise<LaunchedSystem> {
    const suffix = randomBytes(4).toString('hex');
    const databaseName = `${options.label}_${suffix}`;
    const databaseUrl = await createDatabase(options.baseDatabaseUrl, databaseName);
    await runMigrations(databaseUrl);
    const namespace = `${options.label}-${suffix}`;
    await ensureNamespace(options.temporalAddress, namespace, undefined, options.temporalTls);
    const names = options.apps ?? APP_NAMES;
    const ports = new Map(await Promise.all(names.map(async (name) => [name, await freePort()] as const)));
    const env = {
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: options.temporalAddress,
      TEMPORAL_NAMESPACE: namespace,
      JWT_SECRET: randomBytes(32).toString('hex'),
      ENCRYPTION_KEYS: `${options.label}:${generateKey()}`,
      PUBLIC_WEBHOOK_BASE_URL: `http://127.0.0.1:${ports.get('trigger-ingest') ?? 0}`,
      OAUTH_CALLBACK_URL: `http://127.0.0.1:${ports.get('oauth-service') ?? 0}/api/oauth2-credential/callback`,
      LOG_LEVEL: 'info',
      // The SDK's metrics endpoint binds a fixed port by default: several workers on one host would
      // collide. A caller that scrapes it passes an address of its own.
      TEMPORAL_METRICS_BIND_ADDRESS: 'off',
      ...options.env,
    };
    const system = new LaunchedSystem(options, databaseName, databaseUrl, namespace, env);
    try {
      await Promise.all(names.map((name) => system.startApp(name, ports.get(name))));
    } catch (error) {
      await system.stop();
      throw error;
    }
    return system;
  }

  url(app: AppName, path: string): string {
    const running = this.apps.get(app);
    if (!running) throw new Error(`${app} is not running`);
    return `${running.baseUrl}${path}`;
  }

  /**
   * A credential that is already connected, sealed with this system's keys as oauth-service would seal
   * it: for tests and benchmarks of what uses an account, not of the OAuth flow. Answers its id.
   */
  async insertConnectedCredential(
    sql: postgres.Sql,
    credential: { userId: number; provider: string; accessToken: string; name?: string },
  ): Promise<number> {
    const name = credential.name ?? `${credential.provider} account ${randomBytes(3).toString('hex')}`;
    const [row] = await sql<{ id: number }[]>`
      insert into credentials (user_id, service_provider, credential_type, name)
      values (${credential.userId}, ${credential.provider}, 'oauth2', ${name}) returning id`;
    if (!row) throw new Error('the credential was not inserted');
    const sealed = Keyring.fromEnv(this.env.ENCRYPTION_KEYS ?? '', undefined).encrypt(
      credential.accessToken,
      {
        table: 'credentials',
        column: 'access_token',
        row: row.id,
      },
    );
    await sql`update credentials set access_token = ${sealed} where id = ${row.id}`;
    return row.id;
  }

  /** Starts (or restarts, on the same port) one app and waits until it is ready. */
  async startApp(name: AppName, port?: number): Promise<ManagedProcess> {
    const app = spawnApp({
      name,
      port: port ?? this.apps.get(name)?.port ?? (await freePort()),
      env: this.env,
      ...(this.options.inheritedEnv ? { inheritedEnv: this.options.inheritedEnv } : {}),
      ...(this.options.onLine ? { onLine: this.options.onLine } : {}),
    });
    this.apps.set(name, app);
    await waitUntilReady(app);
    return app;
  }

  /**
   * One more process of an app with its own variables over the system's (a worker serving other task
   * queues), on a fresh port; waits until it is ready and is stopped with the system.
   */
  async startExtraApp(name: AppName, env: Record<string, string>): Promise<ManagedProcess> {
    const app = spawnApp({
      name,
      port: await freePort(),
      env: { ...this.env, ...env },
      ...(this.options.inheritedEnv ? { inheritedEnv: this.options.inheritedEnv } : {}),
      ...(this.options.onLine ? { onLine: this.options.onLine } : {}),
    });
    this.extraApps.push(app);
    await waitUntilReady(app);
    return app;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.apps.values(), ...this.extraApps].map((app) => app.stop()));
    await dropDatabase(this.options.baseDatabaseUrl, this.databaseName);
  }
}
