import { spawn } from 'node:child_process';
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConnectionOptions } from '@temporalio/client';
import { REPO_ROOT } from './apps.js';
import { superviseChild } from './child-process.js';
import { type RunningTemporal, TEMPORAL_SERVER_ENV, waitForTemporal } from './temporal-dev-server.js';

/** Where bench/setup-temporal-server.sh puts the real server (Temporal 1.29.1, built with Go). */
export const TEMPORAL_SERVER_PATH = join(REPO_ROOT, '.tools', 'temporal-server', 'server');

/** The frontend's TLS, as the server's `global.tls.frontend` takes it (PEM file paths). */
export interface FrontendTls {
  certFile: string;
  keyFile: string;
  /** The name in the certificate; the server's own system worker checks it. */
  serverName: string;
  /** CA of the frontend's certificate, for the server's own system worker. */
  caFile: string;
  /** mTLS: clients must present a certificate signed by this CA. */
  clientCaFile?: string;
}

export interface TemporalServerOptions {
  tls: FrontendTls;
  /** How the caller itself connects, to wait for the server (a client certificate under mTLS). */
  clientTls: ConnectionOptions['tls'];
  binaryPath?: string;
  /** What the server inherits under TEMPORAL_SERVER_ENV (the caller's environment); nothing when unset. */
  inheritedEnv?: Readonly<Record<string, string | undefined>>;
  onOutput?: (line: string) => void;
}

/** Temporal keeps membership ports in a smallint column: they must stay below 32768. */
async function lowFreePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

const yamlString = (value: string) => JSON.stringify(value);

/**
 * The real Temporal server 1.29.1 (not the dev server, which has no TLS flags) on in-memory SQLite,
 * its frontend serving TLS, or mTLS with `clientCaFile`. Internal traffic stays plaintext on
 * 127.0.0.1. The dynamic config is compose's (infra/temporal/dynamic-config.yaml).
 */
export async function startTemporalServer(options: TemporalServerOptions): Promise<RunningTemporal> {
  const binary = options.binaryPath ?? TEMPORAL_SERVER_PATH;
  try {
    await access(binary);
  } catch {
    throw new Error(
      `no Temporal server at ${binary}: run bench/setup-temporal-server.sh (scripts/test does) to build it`,
    );
  }
  const root = await mkdtemp(join(tmpdir(), 'temporal-server-'));
  await mkdir(join(root, 'config'));
  const ports = {
    frontend: await lowFreePort(),
    frontendHttp: await lowFreePort(),
    frontendMembership: await lowFreePort(),
    history: await lowFreePort(),
    historyMembership: await lowFreePort(),
    matching: await lowFreePort(),
    matchingMembership: await lowFreePort(),
    worker: await lowFreePort(),
    workerMembership: await lowFreePort(),
  };
  const { tls } = options;
  const memoryStore = `
      sql:
        pluginName: sqlite
        databaseName: default
        connectAddr: localhost
        connectProtocol: tcp
        connectAttributes:
          mode: memory
          cache: private
        maxConns: 1
        maxIdleConns: 1
        maxConnLifetime: 1h`;
  const service = (grpc: number, membership: number, http?: number) => `
    rpc:
      grpcPort: ${grpc}
      membershipPort: ${membership}
      bindOnLocalHost: true${http ? `\n      httpPort: ${http}` : ''}`;
  const frontendClient = `
      client:
        serverName: ${yamlString(tls.serverName)}
        rootCaFiles: [${yamlString(tls.caFile)}]`;
  const dynamicConfig = join(root, 'dynamic-config.yaml');
  await writeFile(dynamicConfig, await readFile(join(REPO_ROOT, 'infra', 'temporal', 'dynamic-config.yaml')));
  await writeFile(
    join(root, 'config', 'tls.yaml'),
    `
log:
  stdout: true
  level: warn
persistence:
  defaultStore: default
  visibilityStore: visibility
  numHistoryShards: 1
  datastores:
    default:${memoryStore}
    visibility:${memoryStore}
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: 127.0.0.1
  tls:
    frontend:
      server:
        certFile: ${yamlString(tls.certFile)}
        keyFile: ${yamlString(tls.keyFile)}
        requireClientAuth: ${tls.clientCaFile ? 'true' : 'false'}${tls.clientCaFile ? `\n        clientCaFiles: [${yamlString(tls.clientCaFile)}]` : ''}
    # The server's own workers (schedules, namespace deletion) call the frontend like any client.
    systemWorker:
      certFile: ${yamlString(tls.certFile)}
      keyFile: ${yamlString(tls.keyFile)}${frontendClient}
services:
  frontend:${service(ports.frontend, ports.frontendMembership, ports.frontendHttp)}
  history:${service(ports.history, ports.historyMembership)}
  matching:${service(ports.matching, ports.matchingMembership)}
  worker:${service(ports.worker, ports.workerMembership)}
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: "127.0.0.1:${ports.frontend}"
dcRedirectionPolicy:
  policy: noop
dynamicConfigClient:
  filepath: ${yamlString(dynamicConfig)}
  pollInterval: 10s
`,
  );
  const child = spawn(
    binary,
    ['--root', root, '--config', 'config', '--env', 'tls', '--allow-no-auth', 'start'],
    {
      env: { ...options.inheritedEnv, ...TEMPORAL_SERVER_ENV },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const supervised = superviseChild(child, {
    ...(options.onOutput ? { onLine: options.onOutput } : {}),
    keepOutput: true,
    killAfterMs: 10_000,
  });
  const { exited, output } = supervised;
  const stop = async () => {
    await supervised.stop();
    await rm(root, { recursive: true, force: true });
  };
  const address = `127.0.0.1:${ports.frontend}`;
  try {
    await Promise.race([
      waitForTemporal(address, 90_000, options.clientTls),
      exited.then(() => {
        throw new Error(`the Temporal server exited early (code ${child.exitCode})`);
      }),
    ]);
  } catch (error) {
    await stop();
    throw new Error(`the Temporal server did not start: ${String(error)}\n${output.slice(-20).join('\n')}`);
  }
  return { address, process: child, stop };
}
