import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './apps.js';
import { superviseChild } from './child-process.js';

/** The one Caddyfile compose, ./scripts/stack and the tests run (infra/caddy/Caddyfile). */
export const CADDYFILE = join(REPO_ROOT, 'infra', 'caddy', 'Caddyfile');

/** The console's build (`turbo run build` writes it), which the proxy serves on every non-API path. */
export const CONSOLE_DIST = join(REPO_ROOT, 'apps', 'console', 'dist');

/** CADDY_PATH (from the caller's environment), else the binary scripts/bootstrap.sh builds into .tools/bin. */
export function caddyPath(env: Readonly<Record<string, string | undefined>>): string {
  return env.CADDY_PATH || join(REPO_ROOT, '.tools', 'bin', 'caddy');
}

const CADDY_STATE_DIR = join(tmpdir(), 'autoflow-caddy');

/** host:port of each app the proxy routes to. */
export interface ProxyUpstreams {
  'api-gateway': string;
  'oauth-service': string;
  'trigger-ingest': string;
}

export interface ProxyOptions {
  caddyPath: string;
  /** Interface and port the proxy listens on. */
  host: string;
  port: number;
  upstreams: ProxyUpstreams;
  /** The console's files; CONSOLE_DIST by default. */
  consoleRoot?: string;
  onOutput?: (line: string) => void;
}

export interface RunningProxy {
  /** The one public origin, e.g. http://127.0.0.1:8080. */
  origin: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** The Caddyfile's variables (see its header) for these options. */
export function proxyEnv(
  options: Pick<ProxyOptions, 'host' | 'port' | 'upstreams' | 'consoleRoot'>,
): Record<string, string> {
  return {
    CONSOLE_ROOT: options.consoleRoot ?? CONSOLE_DIST,
    PROXY_BIND_ADDRESS: options.host,
    PROXY_PORT: String(options.port),
    API_GATEWAY_UPSTREAM: options.upstreams['api-gateway'],
    OAUTH_SERVICE_UPSTREAM: options.upstreams['oauth-service'],
    TRIGGER_INGEST_UPSTREAM: options.upstreams['trigger-ingest'],
  };
}

/** Any HTTP answer from the proxy itself (the console, or its 404 for `/`) means it listens and routes. */
async function answers(origin: string): Promise<boolean> {
  try {
    await (await fetch(`${origin}/`)).arrayBuffer();
    return true;
  } catch {
    return false;
  }
}

/** Runs Caddy on infra/caddy/Caddyfile in front of the apps; resolves once it answers. */
export async function startProxy(options: ProxyOptions, timeoutMs = 30_000): Promise<RunningProxy> {
  if (!existsSync(options.caddyPath))
    throw new Error(
      `no Caddy at ${options.caddyPath}: run scripts/bootstrap.sh (it builds one into .tools/bin) or set CADDY_PATH`,
    );
  const child = spawn(options.caddyPath, ['run', '--config', CADDYFILE, '--adapter', 'caddyfile'], {
    // Only the Caddyfile's variables, and a folder for what Caddy keeps (autosaved config, its data): the
    // proxy sees none of the stack's secrets.
    env: { XDG_CONFIG_HOME: CADDY_STATE_DIR, XDG_DATA_HOME: CADDY_STATE_DIR, ...proxyEnv(options) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Caddy drains open requests on SIGTERM (the Caddyfile's grace_period bounds it).
  const { output, stop } = superviseChild(child, {
    ...(options.onOutput ? { onLine: options.onOutput } : {}),
    keepOutput: true,
    killAfterMs: 15_000,
  });
  const hostInUrl = options.host.includes(':') ? `[${options.host}]` : options.host;
  const origin = `http://${hostInUrl === '0.0.0.0' ? '127.0.0.1' : hostInUrl}:${options.port}`;
  const deadline = Date.now() + timeoutMs;
  while (!(await answers(origin))) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`Caddy exited with ${child.exitCode ?? child.signalCode}: ${output.join('\n')}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`Caddy did not answer on ${origin} within ${timeoutMs} ms: ${output.join('\n')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { origin, process: child, stop };
}
