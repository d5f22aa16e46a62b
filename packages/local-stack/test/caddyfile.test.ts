import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CADDYFILE, CONSOLE_DIST, caddyPath, proxyEnv } from '../src/proxy.js';

// infra/caddy/Caddyfile as Caddy itself reads it: valid, formatted, and routing each public prefix to
// its app, with the compose defaults and with the loopback upstreams of the dev stack and the tests.
// (tests/e2e/test/one-origin.test.ts drives requests through a running one.)

const run = promisify(execFile);
const CADDY = caddyPath(process.env);

async function caddy(args: string[], env: Record<string, string> = {}) {
  return run(CADDY, args, { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env } });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

/** Every upstream `dial` under a handler tree (subroutes included). */
function dialsUnder(handlers: unknown): string[] {
  return list(handlers).flatMap((handler) => {
    if (!isRecord(handler)) return [];
    if (handler.handler === 'reverse_proxy')
      return list(handler.upstreams).map((upstream) => (isRecord(upstream) ? String(upstream.dial) : ''));
    return list(handler.routes).flatMap((route) => (isRecord(route) ? dialsUnder(route.handle) : []));
  });
}

/** The adapted config's route table: each path pattern and where it is proxied ('' when answered by Caddy). */
async function routeTable(env: Record<string, string>) {
  const { stdout } = await caddy(['adapt', '--config', CADDYFILE, '--adapter', 'caddyfile'], env);
  const config: unknown = JSON.parse(stdout);
  const servers =
    isRecord(config) && isRecord(config.apps) && isRecord(config.apps.http) ? config.apps.http : {};
  const [server] = Object.values(isRecord(servers.servers) ? servers.servers : {});
  if (!isRecord(server)) throw new Error(`no server in ${stdout}`);
  const table: Record<string, string> = {};
  for (const route of list(server.routes)) {
    if (!isRecord(route)) continue;
    const paths = list(route.match).flatMap((matcher) => (isRecord(matcher) ? list(matcher.path) : []));
    const dials = dialsUnder(route.handle);
    for (const path of paths.length > 0 ? paths : ['(anything else)']) table[String(path)] = dials.join(',');
  }
  return { table, listen: list(server.listen).map(String) };
}

const EXPECTED = (upstream: Record<'api' | 'oauth' | 'ingest', string>) => ({
  '/api/oauth2-credential/*': upstream.oauth,
  '/api/*': upstream.api,
  '/codec/*': upstream.api,
  '/docs': upstream.api,
  '/docs/*': upstream.api,
  '/hooks/*': upstream.ingest,
  '/push/*': upstream.ingest,
  '/pubsub/*': upstream.ingest,
  '/metrics': '',
  '/healthz': '',
  '/readyz': '',
  '/openapi.json': '',
  '/api': '',
  '/codec': '',
  '/hooks': '',
  '/push': '',
  '/pubsub': '',
  '(anything else)': '',
});

/** The folder Caddy serves files from (the `root` the console's route sets), '' when none. */
async function consoleRoot(env: Record<string, string>): Promise<string> {
  const { stdout } = await caddy(['adapt', '--config', CADDYFILE, '--adapter', 'caddyfile'], env);
  const roots = [...stdout.matchAll(/"root":"([^"]*)"/g)].map((match) => match[1]);
  return [...new Set(roots)].join(',');
}

describe('infra/caddy/Caddyfile', () => {
  it('is valid and formatted as `caddy fmt` writes it', async () => {
    const validated = await caddy(['validate', '--config', CADDYFILE, '--adapter', 'caddyfile']);
    expect(validated.stdout + validated.stderr).toContain('Valid configuration');
    // validate warns about an unformatted file; fmt prints the formatted text.
    expect(validated.stderr).not.toContain('not formatted');
    const formatted = await caddy(['fmt', CADDYFILE]);
    expect(formatted.stdout).toBe(await readFile(CADDYFILE, 'utf8'));
  });

  it('routes each public prefix to the compose service that serves it, and nothing else', async () => {
    const { table, listen } = await routeTable({});
    expect(listen).toEqual(['0.0.0.0:8080']);
    expect(table).toEqual(
      EXPECTED({ api: 'api-gateway:3000', oauth: 'oauth-service:3001', ingest: 'trigger-ingest:3002' }),
    );
    // Anything else is the console's files, baked into the compose proxy image at /srv/console.
    expect(await consoleRoot({})).toBe('/srv/console');
  });

  it('takes its port and upstreams from the environment (the dev stack, the tests)', async () => {
    const env = proxyEnv({
      host: '127.0.0.1',
      port: 18_080,
      upstreams: {
        'api-gateway': '127.0.0.1:13000',
        'oauth-service': '127.0.0.1:13001',
        'trigger-ingest': '127.0.0.1:13002',
      },
    });
    const { table, listen } = await routeTable(env);
    expect(listen).toEqual(['127.0.0.1:18080']);
    expect(table).toEqual(
      EXPECTED({ api: '127.0.0.1:13000', oauth: '127.0.0.1:13001', ingest: '127.0.0.1:13002' }),
    );
    expect(await consoleRoot(env)).toBe(CONSOLE_DIST);
  });
});
