import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { superviseChild } from './child-process.js';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export const APP_NAMES = ['api-gateway', 'oauth-service', 'trigger-ingest', 'worker'] as const;
export type AppName = (typeof APP_NAMES)[number];

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface ManagedProcess {
  name: AppName;
  port: number;
  baseUrl: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  /** SIGTERM (graceful) by default; SIGKILL to simulate a crash. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface SpawnAppOptions {
  name: AppName;
  port: number;
  env: Record<string, string>;
  /** What the app inherits under `env` (the caller's environment, for an entry point); nothing when unset. */
  inheritedEnv?: Readonly<Record<string, string | undefined>>;
  onLine?: (name: AppName, line: string) => void;
}

/**
 * Node's flags for every app, here and in infra/docker/app.Dockerfile's CMD (a test keeps them equal).
 * The semi-space cap bounds the young generation at 2 × 32 MiB, where Node 24 lets it grow to 2 × 64 MiB
 * under load: the worker with 1,000 mailboxes peaked at 742–802 MiB instead of 873–935 (bench/README.md).
 */
export const APP_NODE_FLAGS: readonly string[] = ['--enable-source-maps', '--max-semi-space-size=32'];

/** Runs one app's built server (apps/<name>/dist/server.js) as its own OS process. */
export function spawnApp(options: SpawnAppOptions): ManagedProcess {
  const entry = join(REPO_ROOT, 'apps', options.name, 'dist', 'server.js');
  const child = spawn(process.execPath, [...APP_NODE_FLAGS, entry], {
    env: { ...options.inheritedEnv, ...options.env, PORT: String(options.port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const { onLine } = options;
  const supervised = superviseChild(child, {
    ...(onLine ? { onLine: (line: string) => onLine(options.name, line) } : {}),
    killAfterMs: 10_000,
  });
  return {
    name: options.name,
    port: options.port,
    baseUrl: `http://127.0.0.1:${options.port}`,
    child,
    exited: supervised.exited,
    stop: supervised.stop,
  };
}

/** Waits for `/readyz` to answer 200: Postgres and Temporal are reachable from the app. */
export async function waitUntilReady(app: ManagedProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | null | undefined;
  void app.exited.then((code) => {
    exitCode = code;
  });
  while (Date.now() < deadline) {
    if (exitCode !== undefined)
      throw new Error(`${app.name} exited with code ${exitCode} before it was ready`);
    try {
      const response = await fetch(`${app.baseUrl}/readyz`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${app.name} was not ready within ${timeoutMs} ms`);
}

const COLORS = ['\x1b[36m', '\x1b[35m', '\x1b[33m', '\x1b[32m', '\x1b[34m'];
const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
const SHOWN_ELSEWHERE = new Set([
  'level',
  'time',
  'pid',
  'hostname',
  'msg',
  'reqId',
  'req',
  'res',
  'responseTime',
]);

/** Turns one JSON log line into a short readable one, prefixed and coloured by its source. */
export function formatLogLine(source: string, line: string, colorIndex = 0): string {
  const prefix = `${COLORS[colorIndex % COLORS.length]}${source.padEnd(14)}\x1b[0m│ `;
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch {
    return prefix + line;
  }
  if (typeof record !== 'object' || record === null || !('msg' in record)) return prefix + line;
  const entries = Object.entries(record);
  const field = (name: string) => entries.find(([key]) => key === name)?.[1];
  const level = LEVELS[Number(field('level'))] ?? String(field('level') ?? '');
  const time =
    typeof field('time') === 'number' ? new Date(Number(field('time'))).toISOString().slice(11, 23) : '';
  const request = field('req');
  const response = field('res');
  const requestText =
    typeof request === 'object' && request !== null && 'method' in request && 'url' in request
      ? ` ${String(request.method)} ${String(request.url)}`
      : '';
  const responseText =
    typeof response === 'object' && response !== null && 'statusCode' in response
      ? ` → ${String(response.statusCode)} (${Number(field('responseTime') ?? 0).toFixed(1)} ms)`
      : '';
  const extras = entries.filter(([key]) => !SHOWN_ELSEWHERE.has(key));
  const extrasText = extras.length ? ` ${JSON.stringify(Object.fromEntries(extras))}` : '';
  return `${prefix}${time} ${level.padEnd(5)} ${String(field('msg'))}${requestText}${responseText}${extrasText}`;
}
